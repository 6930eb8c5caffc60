package wire

import (
	"errors"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/sodp"
)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "game.player", "user.alice_1.profile", "A9_.b"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", ".", "a.", ".a", "a..b", "a b", "a/b", "a-b", "é", strings.Repeat("a", 1025)} {
		if err := ValidKey(k); !errors.Is(err, sodp.ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
}
