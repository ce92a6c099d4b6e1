package api_test

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestMain sets gin's mode as main does: the mode is process-wide, so it is
// the program's (or the test binary's) to choose, never the router's. The
// run ends with how many PostgreSQL cases were skipped, if any.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(storetest.Main(m))
}
