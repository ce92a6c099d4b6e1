package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestCompleteChallengeSpendsOnlyForTheWinner: six requests complete one
// challenge at once, each with its own recovery code: one wins and spends
// its code, the others get ErrChallengeConsumed and spend nothing. A proof
// already spent (ErrProofSpent) leaves the challenge unconsumed.
func TestCompleteChallengeSpendsOnlyForTheWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		u := newUser("ada@example.com")
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		hashes := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
		if err := db.ReplaceRecoveryCodes(ctx, u.ID, hashes, now); err != nil {
			t.Fatal(err)
		}
		codes, err := db.RecoveryCodes(ctx, u.ID)
		if err != nil || len(codes) != 10 {
			t.Fatalf("codes: %d, %v", len(codes), err)
		}
		newChallenge := func() string {
			t.Helper()
			ch := &models.MFAChallenge{UserID: u.ID, AMR: "pwd", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := db.CreateChallenge(ctx, ch); err != nil {
				t.Fatal(err)
			}
			return ch.ID
		}

		id := newChallenge()
		errs := make([]error, 6)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.CompleteChallenge(ctx, id, models.Spend{RecoveryCodeID: codes[i].ID}, now)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, models.ErrChallengeConsumed):
				t.Errorf("a losing completion: %v", err)
			}
		}
		if left, err := db.RecoveryCodesLeft(ctx, u.ID); won != 1 || left != 9 || err != nil {
			t.Errorf("%d completions won, %d codes left (%v); want 1 and 9", won, left, err)
		}

		// A spent code rolls the consumption back: the challenge stays live.
		var spent string
		rest, _ := db.RecoveryCodes(ctx, u.ID)
		for _, c := range codes {
			if !containsID(rest, c.ID) {
				spent = c.ID
			}
		}
		id = newChallenge()
		if err := db.CompleteChallenge(ctx, id, models.Spend{RecoveryCodeID: spent}, now); !errors.Is(err, models.ErrProofSpent) {
			t.Errorf("completing with a spent code: %v, want ErrProofSpent", err)
		}
		if _, err := db.LiveChallenge(ctx, id, now); err != nil {
			t.Errorf("the challenge after a spent code: %v, want it still live", err)
		}
		if err := db.CompleteChallenge(ctx, id, models.Spend{RecoveryCodeID: rest[0].ID}, now); err != nil {
			t.Errorf("completing it with an unused code: %v", err)
		}
	})
}

func containsID(cs []models.RecoveryCode, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}
