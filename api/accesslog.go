package api

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// The access line is the one log line every request writes, so it is
// written by hand when Deps.AccessLog is set: the same bytes slog's
// JSONHandler writes for the same record (TestAccessLineIsSlogs compares
// them), without its general machinery. A value the fast path would have to
// escape sends the line through the logger instead.

// accessLine holds one request's fields.
type accessLine struct {
	time                                   time.Time
	method, route, clientIP, reqID, userID string
	status                                 int
	durationMs                             float64
}

var accessBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write writes l to w as slog's JSONHandler would at level INFO, or
// reports false (writing nothing) when a value needs escaping.
func (l *accessLine) write(w io.Writer) bool {
	for _, s := range [...]string{l.method, l.route, l.clientIP, l.reqID, l.userID} {
		if !plainLogString(s) {
			return false
		}
	}
	if y := l.time.Year(); y < 0 || y >= 10000 {
		return false
	}
	bp := accessBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = l.time.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":"`...)
	b = append(b, l.method...)
	b = append(b, `","route":"`...)
	b = append(b, l.route...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"durationMs":`...)
	// encoding/json's float layout, which slog uses: 'f' between 1e-6 and
	// 1e21 (durations in milliseconds to the microsecond always are, or 0).
	b = strconv.AppendFloat(b, l.durationMs, 'f', -1, 64)
	b = append(b, `,"clientIp":"`...)
	b = append(b, l.clientIP...)
	b = append(b, `","requestId":"`...)
	b = append(b, l.reqID...)
	if l.userID != "" {
		b = append(b, `","userId":"`...)
		b = append(b, l.userID...)
	}
	b = append(b, "\"}\n"...)
	_, _ = w.Write(b)
	*bp = b
	if cap(b) <= 4<<10 {
		accessBuffers.Put(bp)
	}
	return true
}

// plainLogString reports whether slog writes s inside quotes as it is:
// printable ASCII without quote or backslash.
func plainLogString(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
