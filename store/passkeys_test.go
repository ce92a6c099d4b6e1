package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestCeremoniesAndCountersHaveOneWinner: six answers to one flowId at once
// consume it once; a used, expired or other-purpose flowId is NotFound; six
// assertions with the same counter at once move it once, and a counter not
// past the stored one is ErrSignCountBehind (0 stays allowed while the
// stored one is 0). Rows are read back past any cache.
func TestCeremoniesAndCountersHaveOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		u := newUser("ada@example.com")
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		c := &models.WebAuthnChallenge{Purpose: "login", Data: "{}", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		if err := db.CreateWebAuthnChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		parallel := func(f func() error) []error {
			errs := make([]error, 6)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = f()
				}()
			}
			close(start)
			wg.Wait()
			return errs
		}
		won := 0
		for _, err := range parallel(func() error { _, err := db.ConsumeWebAuthnChallenge(ctx, c.ID, "login", now); return err }) {
			switch {
			case err == nil:
				won++
			case !models.IsKind(err, models.NotFound):
				t.Errorf("a losing consume: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d answers consumed one flowId", won)
		}
		other := &models.WebAuthnChallenge{Purpose: "register", Data: "{}", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		if err := db.CreateWebAuthnChallenge(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ConsumeWebAuthnChallenge(ctx, other.ID, "login", now); !models.IsKind(err, models.NotFound) {
			t.Errorf("another purpose: %v", err)
		}
		if _, err := db.ConsumeWebAuthnChallenge(ctx, other.ID, "register", now.Add(5*time.Minute)); !models.IsKind(err, models.NotFound) {
			t.Errorf("expired: %v", err)
		}
		if got, err := db.ConsumeWebAuthnChallenge(ctx, other.ID, "register", now); err != nil || got.ConsumedAt == nil {
			t.Errorf("live: %+v %v", got, err)
		}

		pk := &models.Passkey{UserID: u.ID, CredentialID: "cred-1", PublicKey: []byte{1, 2, 3}, Name: "Laptop", CreatedAt: now}
		if err := db.CreatePasskey(ctx, pk); err != nil {
			t.Fatal(err)
		}
		if err := db.CreatePasskey(ctx, &models.Passkey{UserID: u.ID, CredentialID: "cred-1", PublicKey: []byte{4}, CreatedAt: now}); !models.IsKind(err, models.Conflict) {
			t.Errorf("a credential id twice: %v", err)
		}
		for _, count := range []int64{0, 0} {
			if err := db.UsePasskey(ctx, pk.ID, count, false, now); err != nil {
				t.Errorf("counter %d on a counterless passkey: %v", count, err)
			}
		}
		won = 0
		for _, err := range parallel(func() error { return db.UsePasskey(ctx, pk.ID, 5, true, now) }) {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, models.ErrSignCountBehind):
				t.Errorf("a losing assertion: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d assertions with one counter passed", won)
		}
		for _, count := range []int64{5, 4, 0} {
			if err := db.UsePasskey(ctx, pk.ID, count, false, now); !errors.Is(err, models.ErrSignCountBehind) {
				t.Errorf("counter %d after 5: %v", count, err)
			}
		}
		got, err := db.PasskeyByCredentialID(ctx, "cred-1")
		if err != nil || got.SignCount != 5 || !got.BackupState || got.LastUsedAt == nil || string(got.PublicKey) != "\x01\x02\x03" {
			t.Errorf("stored: %+v %v", got, err)
		}
	})
}
