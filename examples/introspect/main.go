// Command introspect shows how a Go service asks Portcullis whether an access
// token is live (RFC 7662), with the importable client package. Run it with:
//
//	PORTCULLIS_URL=http://localhost:8080 INTROSPECT_CLIENT=gateway \
//	INTROSPECT_SECRET=change-me-to-a-long-secret go run ./examples/introspect TOKEN
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/portcullis-auth/portcullis/client"
)

// describe introspects token and says what it is, or why not.
func describe(ctx context.Context, c *client.Client, token string) (string, bool, error) {
	res, err := c.Introspect(ctx, token)
	if err != nil {
		return "", false, err
	}
	if !res.Active {
		return "inactive", false, nil
	}
	return fmt.Sprintf("active: user %s (%s, %s), session %s", res.Sub, res.Email, res.Role, res.Sid), true, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: introspect TOKEN (with PORTCULLIS_URL, INTROSPECT_CLIENT, INTROSPECT_SECRET set)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := client.New(os.Getenv("PORTCULLIS_URL"), client.WithIntrospection(os.Getenv("INTROSPECT_CLIENT"), os.Getenv("INTROSPECT_SECRET")))
	line, active, err := describe(ctx, c, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(line)
	if !active {
		os.Exit(1)
	}
}
