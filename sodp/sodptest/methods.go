package sodptest

import (
	"github.com/sodp-go/client/internal/wire"
)

// WithMethod adds a custom CALL method to the server: a CALL of name is
// answered with RESULT success:true and the data fn returns (a value of
// the JSON model: nil, bool, numbers, string, []any, map[string]any, or
// anything the client's encoder accepts), or, when fn returns an error,
// failed in the dialect's form (an ERROR frame or RESULT success:false)
// with code 400 and the error's text. fn gets the CALL's args and runs on
// the connection's goroutine, one call at a time per connection; it must
// not block for long. A name of a built-in method ("state.set" …) is
// ignored. The rate limit (WithRateLimit) applies as to other calls.
func WithMethod(name string, fn func(args map[string]any) (any, error)) Option {
	return func(c *config) {
		if knownMethods[name] || fn == nil {
			return
		}
		if c.methods == nil {
			c.methods = make(map[string]func(map[string]any) (any, error))
		}
		c.methods[name] = fn
	}
}

// customCall answers a CALL of a method added by WithMethod; it reports
// false when name is not one.
func (c *Conn) customCall(b *wire.Call) bool {
	fn := c.s.cfg.methods[b.Method]
	if fn == nil {
		return false
	}
	data, err := fn(b.Args)
	if err != nil {
		c.callFail(b.CallID, 400, err.Error())
		return true
	}
	c.sendFrame(wire.Frame{Type: wire.TypeResult, Body: &wire.Result{CallID: b.CallID, Success: true, Data: data}})
	return true
}
