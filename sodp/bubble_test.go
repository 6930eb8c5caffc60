package sodp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// TestSynctestRealSocketFailsFast: a client in a synctest bubble that
// would dial a real socket fails at once, naming WithInMemory, instead of
// hanging the test until -timeout.
func TestSynctestRealSocketFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := sodptest.NewServer() // a real socket: the mistake
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c, err := sodp.Dial(ctx, srv.URL)
		if err == nil {
			c.Close()
			t.Fatal("Dial over a real socket in a bubble succeeded")
		}
		if !errors.Is(err, sodp.ErrInvalidOption) || !strings.Contains(err.Error(), "WithInMemory") {
			t.Fatalf("Dial: %v", err)
		}
		if _, err := sodp.New(srv.URL); !errors.Is(err, sodp.ErrInvalidOption) {
			t.Fatalf("New: %v", err)
		}
		// The right way works.
		mem := sodptest.NewServer(sodptest.WithInMemory())
		defer mem.Close()
		c, err = sodp.Dial(ctx, mem.URL, viaPipe(mem))
		if err != nil {
			t.Fatalf("Dial in memory: %v", err)
		}
		c.Close()
	})
}
