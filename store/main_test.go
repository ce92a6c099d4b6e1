package store_test

import (
	"os"
	"testing"

	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestMain ends the run with how many PostgreSQL cases were skipped, if any.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
