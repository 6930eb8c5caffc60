package sodp

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestProxyDefault: the environment's proxy by default, none with a dial
// function of one's own (which may not reach a proxy at all: an in-memory
// server's), and WithProxy's over either.
func TestProxyDefault(t *testing.T) {
	dial := func(context.Context, string, string) (net.Conn, error) { return nil, net.ErrClosed }
	mine := func(*http.Request) (*url.URL, error) { return nil, nil }
	cases := []struct {
		name string
		opts []Option
		want string // "env", "none", "mine"
	}{
		{"default", nil, "env"},
		{"own dial", []Option{WithNetDialContext(dial)}, "none"},
		{"own dial and proxy", []Option{WithNetDialContext(dial), WithProxy(mine)}, "mine"},
		{"proxy off", []Option{WithProxy(nil)}, "none"},
	}
	for _, c := range cases {
		o, err := apply("ws://example.com", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := "mine"
		switch p := o.cfg.Proxy; {
		case p == nil:
			got = "none"
		case funcEqual(p, http.ProxyFromEnvironment):
			got = "env"
		}
		if got != c.want {
			t.Errorf("%s: proxy %s, want %s", c.name, got, c.want)
		}
	}
}

// funcEqual reports whether a and b are the same function (by its code
// pointer, which is what tells http.ProxyFromEnvironment apart).
func funcEqual(a, b func(*http.Request) (*url.URL, error)) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}
