package sodp_test

import (
	"errors"
	"testing"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

type gameStats struct {
	Players int     `json:"players"`
	Leader  string  `msgpack:"leader"`
	Ratio   float64 // matched case-insensitively
	Tags    []string
}

func statsServer(t *testing.T, d sodp.Dialect) *sodptest.Server {
	return newServer(t, sodptest.WithDialect(d),
		sodptest.WithMethod("game.stats", func(args map[string]any) (any, error) {
			if args["fail"] == true {
				return nil, errors.New("no stats today")
			}
			return map[string]any{"players": 3, "leader": "ann", "ratio": 0.5, "tags": []any{"a", "b"}, "extra": 1}, nil
		}),
		sodptest.WithMethod("game.nothing", func(map[string]any) (any, error) { return nil, nil }),
		sodptest.WithMethod("game.word", func(map[string]any) (any, error) { return "hello", nil }),
	)
}

func TestCallAsDecodesResult(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := statsServer(t, d)
			c := dial(t, srv.URL)
			ctx := ctxT(t)

			got, err := sodp.CallAs[gameStats](ctx, c, "game.stats", map[string]any{"round": 1})
			if err != nil {
				t.Fatalf("CallAs: %v", err)
			}
			if got.Players != 3 || got.Leader != "ann" || got.Ratio != 0.5 || len(got.Tags) != 2 || got.Tags[1] != "b" {
				t.Fatalf("CallAs = %+v", got)
			}
			p, err := sodp.CallAs[*gameStats](ctx, c, "game.stats", nil)
			if err != nil || p == nil || p.Players != 3 {
				t.Fatalf("CallAs[*T] = %+v, %v", p, err)
			}

			// The server's refusal, in whatever form the dialect sends it.
			_, err = sodp.CallAs[gameStats](ctx, c, "game.stats", map[string]any{"fail": true})
			var se *sodp.ServerError
			if !errors.Is(err, sodp.ErrBadRequest) || !errors.As(err, &se) {
				t.Fatalf("failing method: err = %v, want a *ServerError matching ErrBadRequest", err)
			}

			// No data: the zero T, no error.
			z, err := sodp.CallAs[gameStats](ctx, c, "game.nothing", nil)
			if err != nil || z.Players != 0 || z.Tags != nil {
				t.Fatalf("no data: %+v, %v", z, err)
			}
		})
	}
}

func TestCallAsConvertError(t *testing.T) {
	srv := statsServer(t, sodp.DialectSpec)
	c := dial(t, srv.URL)
	ctx := ctxT(t)

	got, err := sodp.CallAs[gameStats](ctx, c, "game.word", nil)
	var ce *sodp.ConvertError
	if !errors.Is(err, sodp.ErrConvert) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *ConvertError", err)
	}
	if ce.Method != "game.word" || ce.Got != "string" || ce.Type != "sodp_test.gameStats" {
		t.Fatalf("ConvertError = %+v", ce)
	}
	if want := "sodp: result of game.word does not convert into sodp_test.gameStats: string into sodp_test.gameStats at the root"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if got.Players != 0 || got.Leader != "" {
		t.Fatalf("value with the error: %+v, want the zero value", got)
	}
	if s, err := sodp.CallAs[string](ctx, c, "game.word", nil); err != nil || s != "hello" {
		t.Fatalf("CallAs[string] = %q, %v", s, err)
	}
	if v, err := sodp.CallAs[any](ctx, c, "game.stats", nil); err != nil || v.(map[string]any)["leader"] != "ann" {
		t.Fatalf("CallAs[any] = %v, %v", v, err)
	}
}
