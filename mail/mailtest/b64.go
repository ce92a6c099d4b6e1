package mailtest

import (
	"encoding/base64"
	"io"
	"strings"
)

// newBase64 decodes a base64 body that may be split over lines.
func newBase64(r io.Reader) io.Reader {
	data, err := io.ReadAll(r)
	if err != nil {
		return strings.NewReader("")
	}
	clean := strings.NewReplacer("\r", "", "\n", "").Replace(string(data))
	out, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return strings.NewReader("")
	}
	return strings.NewReader(string(out))
}
