package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/token"
)

// TestNoSecretInTheReencryptLogs is the command-line part of the log
// capture of api's TestNoSecretInAnyFlowsLogs: `keys reencrypt` run at debug
// level, once with the keys it needs and once without the key a secret was
// sealed with, writes neither the TOTP secret, nor its sealed forms, nor any
// key of AUTH_DATA_KEYS, nor the user's password or its hash, to its output
// or its log.
func TestNoSecretInTheReencryptLogs(t *testing.T) {
	ctx := context.Background()
	vars, _ := operatorFixture(t)
	vars["AUTH_LOG_LEVEL"] = "debug"
	const password = "a long passphrase for tess"
	if _, _, err := runCmd(t, vars, password+"\n", "user", "create", "-email", "tess@example.com", "-name", "Tess"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, vars["AUTH_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldKey, newKey, strayKey := token.GenerateKey("old"), token.GenerateKey("new"), token.GenerateKey("stray")
	now := time.Now().UTC().Truncate(time.Second)
	ring, _ := token.NewKeyRing(oldKey)
	keys, _ := token.NewKeyRing(token.GenerateKey("session"))
	svc := auth.New(auth.Deps{Store: db, Keys: keys, Hasher: auth.NewHasher(1, 4, nil), DataKeys: ring, Now: func() time.Time { return now },
		Lifetimes: auth.Lifetimes{Access: time.Minute, Session: time.Hour, Remember: time.Hour, MaxAge: time.Hour}})
	in, err := svc.Login(ctx, auth.Client{}, "tess@example.com", password, auth.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, in.Tokens.Access)
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.EnrollTOTP(ctx, p, "Phone")
	if err != nil {
		t.Fatal(err)
	}
	_, recovery, err := svc.VerifyTOTP(ctx, auth.Client{}, p, e.Factor.ID, apitest.TOTP(t, e.Secret, now))
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, "tess@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sealed := func() string {
		t.Helper()
		fs, err := db.AllFactors(ctx)
		if err != nil || len(fs) != 1 {
			t.Fatalf("factors: %v %v", fs, err)
		}
		return string(fs[0].Secret)
	}
	secrets := append([]string{e.Secret, sealed(), password, u.PasswordHash, in.Tokens.Access, in.Tokens.Refresh}, recovery...)
	for _, k := range []token.Key{oldKey, newKey, strayKey} {
		secrets = append(secrets, base64.RawURLEncoding.EncodeToString(k.Secret))
	}

	var logs strings.Builder
	vars["AUTH_DATA_KEYS"] = newKey.String() + "," + oldKey.String()
	out, errOut, err := runCmd(t, vars, "", "keys", "reencrypt")
	if err != nil || !strings.Contains(out, "re-encrypted 1 secrets") {
		t.Fatalf("keys reencrypt: %q %q %v", out, errOut, err)
	}
	logs.WriteString(out + errOut)
	secrets = append(secrets, sealed())
	vars["AUTH_DATA_KEYS"] = strayKey.String()
	out, errOut, err = runCmd(t, vars, "", "keys", "reencrypt")
	if err == nil {
		t.Fatalf("keys reencrypt without the sealing key succeeded: %q", out)
	}
	logs.WriteString(out + errOut + err.Error())
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a secret to look for is empty")
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a secret (%.6s…) is in the command's output: %s", secret, strings.ReplaceAll(logs.String(), secret, "<SECRET>"))
		}
	}
}
