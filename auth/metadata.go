package auth

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/portcullis-auth/portcullis/models"
)

// Metadata limits (lifecycle.md, "Metadata"): a serialised object of at most
// MaxMetadataBytes, nested at most MaxMetadataDepth deep (the object itself
// is depth 1).
const (
	MaxMetadataBytes = 4096
	MaxMetadataDepth = 5
)

// mergePatch applies an RFC 7396 JSON merge patch to target: an object patch
// merges key by key (null removes a key), anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// depth is how deeply v nests objects and arrays (a scalar is 0).
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// decodeObject parses a JSON object, keeping numbers as written.
func decodeObject(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// patchMetadata returns the function the store applies to the stored
// metadata: it merges patch in and checks the limits, a field error on
// field when they are exceeded.
func patchMetadata(field string, patch []byte) (func([]byte) ([]byte, error), string) {
	p, ok := decodeObject(patch)
	if !ok {
		return nil, "must be a JSON object"
	}
	if depth(p) > MaxMetadataDepth {
		return nil, "must nest at most 5 levels deep"
	}
	return func(current []byte) ([]byte, error) {
		cur, ok := decodeObject(current)
		if !ok {
			cur = map[string]any{}
		}
		merged := mergePatch(cur, p)
		if depth(merged) > MaxMetadataDepth {
			return nil, metadataErr(field, "must nest at most 5 levels deep")
		}
		out, err := json.Marshal(merged)
		if err != nil {
			return nil, metadataErr(field, "must be a JSON object")
		}
		if len(out) > MaxMetadataBytes {
			return nil, metadataErr(field, "must be at most 4096 bytes serialised")
		}
		return out, nil
	}, ""
}

func metadataErr(field, problem string) error {
	fields := models.FieldErrors{}
	fields.Add(field, problem)
	return fields.Err()
}

// SetAppMetadata merges patch into a user's app metadata (an administrator's
// change, through UpdateUser).
func (s *Service) setMetadata(ctx context.Context, userID string, app bool, apply func([]byte) ([]byte, error)) (models.User, error) {
	return s.store.UpdateMetadata(ctx, userID, app, s.now(), apply)
}
