package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portcullis-auth/portcullis/auth"
)

// rawHashRate runs argon2id in a child on the server's core.
func rawHashRate(self string, d time.Duration) (float64, error) {
	argv := onCore(serverCore, []string{self, "-child=hashrate", d.String()})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("hash rate: %w", err)
	}
	var rate float64
	_, err = fmt.Sscanf(string(out), "%f", &rate)
	return rate, err
}

// child runs one of the helper processes.
func child(mode string, args []string) error {
	addr := os.Getenv("BENCH_ADDR")
	gin.SetMode(gin.ReleaseMode)
	switch mode {
	case "gin":
		e := gin.New()
		e.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
		e.GET("/me", func(c *gin.Context) {
			c.JSON(200, gin.H{"id": "01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b", "email": "ada@example.com", "role": "user"})
		})
		return http.ListenAndServe(addr, e)
	case "canned":
		return canned(addr)
	case "pgx":
		ctx := context.Background()
		cfg, err := pgxpool.ParseConfig(os.Getenv("BENCH_PG"))
		if err != nil {
			return err
		}
		cfg.MaxConns = 20
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_rows (id int PRIMARY KEY, n bigint NOT NULL);
			INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		e := gin.New()
		e.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
		e.POST("/update", func(c *gin.Context) {
			if _, err := pool.Exec(c.Request.Context(), "UPDATE bench_rows SET n = n + 1 WHERE id = $1", c.Query("id")); err != nil {
				c.JSON(500, gin.H{"error": "update failed"})
				return
			}
			c.JSON(200, gin.H{"ok": true})
		})
		return http.ListenAndServe(addr, e)
	case "hashrate":
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return err
		}
		n, start, params := 0, time.Now(), auth.DefaultArgon2Params()
		for time.Since(start) < d {
			if _, err := argon2id.CreateHash(password, &params); err != nil {
				return err
			}
			n++
		}
		fmt.Printf("%f\n", float64(n)/time.Since(start).Seconds())
		return nil
	}
	return fmt.Errorf("unknown child %q", mode)
}

// freshDatabase points env's AUTH_DATABASE_URL at a new PostgreSQL database
// when the run is on PostgreSQL (and leaves the SQLite file otherwise); drop
// removes it.
func freshDatabase(o options, env map[string]string) (name string, drop func(), err error) {
	if o.db != "postgres" {
		return "", func() {}, nil
	}
	if name, err = createDatabase(o.pgURL); err != nil {
		return "", nil, err
	}
	env["AUTH_DATABASE_URL"] = withDatabase(o.pgURL, name)
	return name, func() { dropDatabase(o.pgURL, name) }, nil
}

func createDatabase(base string) (string, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at -pg: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("portcullis_bench_%d", time.Now().UnixNano())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	return name, err
}

func dropDatabase(base, name string) {
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, base); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[(len(d)-1)*p/100].Round(10 * time.Microsecond)
}

// canned answers every request on a keep-alive connection with the same
// bytes, parsing no more than it must: a server far cheaper than any
// measured here, so what wrk reaches against it is the client's own ceiling.
func canned(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	body := `{"status":"ok"}`
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close()
			r := bufio.NewReaderSize(conn, 16<<10)
			for {
				// Headers end with an empty line; the scenarios' GETs carry
				// no body. A request with a body is answered too: its
				// Content-Length bytes are skipped.
				n := 0
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 {
						break
					}
					if v, ok := bytes.CutPrefix(bytes.ToLower(line), []byte("content-length:")); ok {
						fmt.Sscanf(string(bytes.TrimSpace(v)), "%d", &n)
					}
				}
				if _, err := r.Discard(n); err != nil {
					return
				}
				if _, err := conn.Write(resp); err != nil {
					return
				}
			}
		}()
	}
}
