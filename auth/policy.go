package auth

import (
	"strings"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"

	"github.com/portcullis-auth/portcullis/models"
)

// strengthPrefix bounds the input to zxcvbn, whose cost grows quickly with
// length; a password whose first 64 characters are strong is strong.
const strengthPrefix = 64

// minStrength is the lowest acceptable zxcvbn score (0-4).
const minStrength = 2

// PasswordProblem returns why a password is unacceptable, or "". userInputs
// (email, name) count against it. It never hashes and answers in milliseconds.
func PasswordProblem(pw string, userInputs ...string) string {
	if p := models.PasswordShapeProblem(pw); p != "" {
		return p
	}
	prefix := pw
	if utf8.RuneCountInString(prefix) > strengthPrefix {
		prefix = string([]rune(prefix)[:strengthPrefix])
	}
	var inputs []string
	for _, in := range userInputs {
		for _, part := range strings.FieldsFunc(strings.ToLower(in), func(r rune) bool { return r == '@' || r == '.' || r == ' ' }) {
			if len(part) >= 3 {
				inputs = append(inputs, part)
			}
		}
	}
	if zxcvbn.PasswordStrength(prefix, inputs).Score < minStrength {
		return "is too common or too easy to guess; try a longer passphrase"
	}
	return ""
}
