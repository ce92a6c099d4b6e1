package main

import (
	"strings"
	"testing"
	"time"
)

func TestBufferedWriterFlushesOnTickAndClose(t *testing.T) {
	var out syncBuffer
	w := newBufferedWriter(&out, 1<<10, 20*time.Millisecond)
	_, _ = w.Write([]byte("one\n"))
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "one") {
		if time.Now().After(deadline) {
			t.Fatal("line not flushed by the background loop")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, _ = w.Write([]byte("two\n"))
	_ = w.Close()
	if out.String() != "one\ntwo\n" {
		t.Errorf("output = %q", out.String())
	}
}
