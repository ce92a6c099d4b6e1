package client_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/client"
)

// requireSession is the README's Gin adapter: Gin is the service's
// dependency, never the client's.
func requireSession(pc *client.Client, reqs ...client.Requirement) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, err := pc.Authorize(c.Request, reqs...)
		if err != nil {
			client.WriteError(c.Writer, err)
			c.Abort()
			return
		}
		c.Request = r
	}
}

func Example_gin() {
	gin.SetMode(gin.ReleaseMode)
	pc := client.New("http://portcullis.invalid")
	r := gin.New()
	r.GET("/admin", requireSession(pc, client.RequireRole("admin")), func(c *gin.Context) {
		c.String(http.StatusOK, "hello %s", client.PrincipalFrom(c.Request.Context()).Email)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/admin", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output: 401 {"error":{"code":"unauthenticated","message":"sign in to continue"}}
}
