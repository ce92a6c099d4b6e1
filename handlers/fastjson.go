package handlers

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// The session answers (GET /auth/me, refresh, sign-in) are written by hand
// rather than through encoding/json's reflection: /auth/me is the hottest
// route there is. The bytes are exactly encoding/json's, HTML escaping
// included (TestAuthResponseJSONIsEncodingJSONs and FuzzAuthResponseJSON
// compare the two); any string or metadata the fast path cannot copy as it
// is goes through encoding/json.

// writeAuthResponse answers with r as JSON.
func writeAuthResponse(c *gin.Context, status int, r AuthResponse) {
	buf := jsonBuffers.Get().(*jsonBuffer)
	buf.b = r.appendJSON(buf.b[:0])
	c.Status(status)
	h := c.Writer.Header()
	if h["Content-Type"] == nil {
		h["Content-Type"] = jsonContentType[:1:1]
	}
	_, _ = c.Writer.Write(buf.b)
	if cap(buf.b) <= 64<<10 {
		jsonBuffers.Put(buf)
	}
}

type jsonBuffer struct{ b []byte }

var (
	jsonBuffers     = sync.Pool{New: func() any { return &jsonBuffer{b: make([]byte, 0, 1024)} }}
	jsonContentType = []string{"application/json; charset=utf-8"}
)

func (r AuthResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"user":`...)
	b = r.User.appendJSON(b)
	b = append(b, `,"session":`...)
	b = r.Session.appendJSON(b)
	return append(b, '}')
}

func (u User) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, u.ID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, u.Email)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, u.Name)
	b = append(b, `,"role":`...)
	b = appendJSONString(b, u.Role)
	b = append(b, `,"emailVerified":`...)
	b = strconv.AppendBool(b, u.EmailVerified)
	b = append(b, `,"metadata":`...)
	b = appendRawJSON(b, u.Metadata)
	b = append(b, `,"appMetadata":`...)
	b = appendRawJSON(b, u.AppMetadata)
	b = append(b, `,"createdAt":`...)
	b = u.CreatedAt.appendJSON(b)
	return append(b, '}')
}

func (s Session) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"createdAt":`...)
	b = s.CreatedAt.appendJSON(b)
	b = append(b, `,"expiresAt":`...)
	b = s.ExpiresAt.appendJSON(b)
	b = append(b, `,"accessExpiresAt":`...)
	b = s.AccessExpiresAt.appendJSON(b)
	b = append(b, `,"aal":`...)
	b = strconv.AppendInt(b, int64(s.AAL), 10)
	b = append(b, `,"amr":`...)
	if s.AMR == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range s.AMR {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	b = append(b, `,"authTime":`...)
	b = s.AuthTime.appendJSON(b)
	return append(b, '}')
}

func (t Time) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = appendWireTime(b, t.Time)
	return append(b, '"')
}

// appendWireTime writes t in the wire layout (2006-01-02T15:04:05.000Z in
// UTC) digit by digit, as time.AppendFormat would (FuzzWireTime compares).
func appendWireTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, wireTime)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendJSONString copies a string that encoding/json would write as it is
// (printable ASCII without quote, backslash or <>&); any other goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s)
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendRawJSON copies stored JSON that is already compact and needs no
// escaping (printable ASCII without spaces or <>&); any other goes through
// encoding/json, which compacts and escapes it.
func appendRawJSON(b []byte, raw json.RawMessage) []byte {
	for _, c := range raw {
		if c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			out, err := json.Marshal(raw)
			if err != nil {
				// Stored metadata is always a JSON object; should it not
				// be, the answer says so rather than breaking the body.
				return append(b, "null"...)
			}
			return append(b, out...)
		}
	}
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}
