package api

import (
	"context"
	"net/http"
	"os"
	"regexp"

	swaggerFiles "github.com/swaggo/files/v2"
	"golang.org/x/net/webdav"
)

// swaggerUIFiles serves Swagger UI's files straight from their embedded
// copy. gin-swagger wants a webdav.Handler; swaggo/files (v1) builds one
// over an in-memory file system it fills at start-up, which kept 9 MiB of
// the UI on the heap of every process (doubling the heap the garbage
// collector aims for) and paged the whole UI in, whether or not anyone
// opened it.
func swaggerUIFiles() *webdav.Handler {
	return &webdav.Handler{FileSystem: readOnlyFS{http.FS(swaggerFiles.FS)}, LockSystem: webdav.NewMemLS()}
}

// swaggerFileName is a file of Swagger UI at /swagger/: a plain name.
var swaggerFileName = regexp.MustCompile(`^/[A-Za-z0-9._-]+$`)

// readOnlyFS is a webdav.FileSystem that only reads.
type readOnlyFS struct{ fs http.FileSystem }

func (f readOnlyFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, os.ErrPermission
	}
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return readOnlyFile{file}, nil
}

func (f readOnlyFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return file.Stat()
}

func (readOnlyFS) Mkdir(context.Context, string, os.FileMode) error { return os.ErrPermission }
func (readOnlyFS) RemoveAll(context.Context, string) error          { return os.ErrPermission }
func (readOnlyFS) Rename(context.Context, string, string) error     { return os.ErrPermission }

type readOnlyFile struct{ http.File }

func (readOnlyFile) Write([]byte) (int, error) { return 0, os.ErrPermission }
