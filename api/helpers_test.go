package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-auth/portcullis/models"
)

func events(t *testing.T, h *harness, typ models.EventType) []models.AuditEvent {
	t.Helper()
	evs, err := h.db.Events(context.Background(), models.EventFilter{Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countEvents(t *testing.T, h *harness, typ models.EventType) int {
	t.Helper()
	return len(events(t, h, typ))
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	return obj.Header.KeyID
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
