package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

type loop struct {
	Name string `json:"name"`
	Next *loop  `json:"next"`
}

// unsupportedValues are caller values with no SODP encoding. The first
// three crashed the process with "fatal error: stack overflow" before the
// encoder detected cycles.
func unsupportedValues() []struct {
	name string
	v    any
	path string
} {
	selfMap := map[string]any{"a": 1}
	selfMap["self"] = selfMap
	selfSlice := []any{1, nil}
	selfSlice[1] = selfSlice
	ring := &loop{Name: "a", Next: &loop{Name: "b"}}
	ring.Next.Next = ring
	return []struct {
		name string
		v    any
		path string
	}{
		{"map containing itself", selfMap, "/self"},
		{"slice containing itself", selfSlice, "/1"},
		{"pointer cycle", ring, "/next/next"},
		{"chan", map[string]any{"c": make(chan int)}, "/c"},
		{"func", map[string]any{"f": func() {}}, "/f"},
		{"complex128", map[string]any{"z": complex(1, 2)}, "/z"},
		{"NaN", map[string]any{"score": math.NaN()}, "/score"},
		{"+Inf", []any{math.Inf(1)}, "/0"},
		{"-Inf", struct {
			F float64 `json:"f"`
		}{math.Inf(-1)}, "/f"},
		{"struct map key", map[string]any{"m": map[struct{ A int }]int{{1}: 1}}, "/m"},
	}
}

func TestUnsupportedValuesFailBeforeSending(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	for _, tc := range unsupportedValues() {
		t.Run(tc.name, func(t *testing.T) {
			ops := []struct {
				name string
				path string
				run  func() error
			}{
				{"Set", tc.path, func() error { _, err := c.Set(ctx, "enc.k", tc.v); return err }},
				{"Patch", tc.path, func() error { _, err := c.Patch(ctx, "enc.k", tc.v); return err }},
				{"SetIn", tc.path, func() error { _, err := c.SetIn(ctx, "enc.k", "/x", tc.v); return err }},
				{"Presence", tc.path, func() error { _, err := c.Presence(ctx, "enc.k", "/x", tc.v); return err }},
				{"Ref.Set", tc.path, func() error { _, err := sodp.Key[any](c, "enc.k").Set(ctx, tc.v); return err }},
				{"Call", "/arg" + tc.path, func() error { _, err := c.Call(ctx, "m", map[string]any{"arg": tc.v}); return err }},
				{"Watch params", "/p" + tc.path, func() error {
					sub, err := sodp.Watch[any](ctx, c, "enc.k", sodp.WithParams(map[string]any{"p": tc.v}))
					if err == nil {
						sub.Close()
					}
					return err
				}},
			}
			for _, op := range ops {
				err := op.run()
				if !errors.Is(err, sodp.ErrUnsupportedValue) {
					t.Errorf("%s: error %v does not match ErrUnsupportedValue", op.name, err)
					continue
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", op.path)) {
					t.Errorf("%s: error %q does not name the path %q", op.name, err, op.path)
				}
				if strings.Count(err.Error(), "sodp:") != 1 {
					t.Errorf("%s: error %q has not exactly one sodp: prefix", op.name, err)
				}
			}
		})
	}
	if n := c.Stats().CallsSent; n != 0 {
		t.Errorf("CallsSent = %d, want 0: a value that cannot be encoded was sent", n)
	}
	if f := frames(srv, "CALL"); len(f) != 0 {
		t.Errorf("the server received %d CALL frames", len(f))
	}
	if f := frames(srv, "WATCH"); len(f) != 0 {
		t.Errorf("the server received %d WATCH frames", len(f))
	}
	// The client is unharmed.
	if _, err := c.Set(ctx, "enc.k", map[string]any{"ok": true}); err != nil {
		t.Fatalf("Set after the refusals: %v", err)
	}
}

// Types for the round trip through a server: both tag kinds, skipped and
// omitempty fields, embedded structs by value and by pointer, shadowed
// names, nested structs, pointers, slices, maps with integer keys, time.

type rtAudit struct {
	Created time.Time `json:"created_at"`
	By      string    `msgpack:"by"`
	Note    string    `json:"note"`
}

type RtExtra struct {
	Weight float64 `json:"weight,omitempty"`
	Label  string  `json:"label"`
}

type rtItem struct {
	SKU   string  `json:"sku"`
	Qty   uint16  `json:"qty"`
	Price float64 `json:"price"`
	Meta  *rtItem `json:"meta,omitempty"`
}

type rtOrder struct {
	rtAudit
	*RtExtra
	ID       int64          `json:"id"`
	Note     string         `json:"note"` // shadows rtAudit.Note
	Owner    string         `msgpack:"owner" json:"ignored"`
	Password string         `json:"-"`
	Coupon   string         `json:"coupon,omitempty"`
	Items    []rtItem       `json:"items"`
	Lookup   map[int]string `json:"lookup"`
	Ship     *rtItem        `json:"ship"`
	Flags    []bool         `json:"flags,omitempty"`
	Any      any            `json:"any"`
	Plain    int            // no tag: the field's name
}

func randWord(r *rand.Rand) string {
	words := []string{"", "a", "café", "日本", "x/y", "~0", "Z z"}
	return words[r.IntN(len(words))]
}

func randOrder(r *rand.Rand) rtOrder {
	o := rtOrder{
		rtAudit: rtAudit{Created: time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC(), By: randWord(r)},
		ID:      r.Int64() - r.Int64(),
		Note:    randWord(r),
		Owner:   randWord(r),
		Plain:   r.IntN(1000) - 500,
	}
	if r.IntN(2) == 0 {
		o.RtExtra = &RtExtra{Label: randWord(r)}
		if r.IntN(2) == 0 {
			o.Weight = r.Float64() * 100
		}
	}
	if r.IntN(2) == 0 {
		o.Coupon = "c" + randWord(r)
	}
	for range r.IntN(3) {
		it := rtItem{SKU: randWord(r), Qty: uint16(r.Uint32()), Price: float64(r.IntN(10000)) / 100}
		if r.IntN(2) == 0 {
			it.Meta = &rtItem{SKU: "meta"}
		}
		o.Items = append(o.Items, it)
	}
	if r.IntN(2) == 0 {
		o.Lookup = map[int]string{r.IntN(100): randWord(r), -1: "neg"}
	}
	if r.IntN(2) == 0 {
		o.Ship = &rtItem{SKU: "ship", Qty: 1}
	}
	if r.IntN(2) == 0 {
		o.Flags = []bool{true, false}
	}
	switch r.IntN(3) {
	case 0:
		o.Any = map[string]any{"n": int64(r.IntN(9)), "l": []any{"s", 1.5, nil}}
	case 1:
		o.Any = randWord(r)
	}
	return o
}

// TestSetWatchRoundTrip: whatever Set sends, Watch[T] reads back as the
// same value, for every server dialect.
func TestSetWatchRoundTrip(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			r := rand.New(rand.NewPCG(uint64(d), 12))
			for i := range 40 {
				in := randOrder(r)
				in.Password = "hunter2" // never sent, so read back as ""
				key := fmt.Sprintf("rt.order%d", i)
				if _, err := c.Set(ctx, key, in); err != nil {
					t.Fatalf("Set: %v", err)
				}
				in.Password = ""
				sub, err := sodp.Watch[rtOrder](ctx, c, key)
				if err != nil {
					t.Fatal(err)
				}
				u := next(t, sub)
				sub.Close()
				if u.Err != nil {
					t.Fatalf("#%d: %v", i, u.Err)
				}
				if !reflect.DeepEqual(u.Value, in) {
					t.Fatalf("#%d round trip differs:\n set %+v\n got %+v", i, in, u.Value)
				}
				raw, _, _ := srv.Get(key)
				if strings.Contains(fmt.Sprint(raw), "hunter2") {
					t.Fatalf("a json:\"-\" field reached the server: %v", raw)
				}
			}
		})
	}
}

func ExampleErrUnsupportedValue() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	m := map[string]any{"name": "a"}
	m["self"] = m // a value that contains itself has no encoding
	_, err = client.Set(ctx, "doc.k", m)
	fmt.Println(errors.Is(err, sodp.ErrUnsupportedValue))
	fmt.Println(err)
	// Output:
	// true
	// sodp: unsupported value: set doc.k: map[string]interface {} at "/self": the value contains itself (a cycle)
}

// Account shows the field rules Set and Watch share.
type Account struct {
	ID       int64  `json:"id"`
	Email    string `json:"email"`
	Password string `json:"-"`              // never sent
	Nick     string `json:"nick,omitempty"` // left out when empty
}

func ExampleClient_Set_structFields() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	if _, err := client.Set(ctx, "user.1", Account{ID: 1, Email: "a@example.com", Password: "hunter2"}); err != nil {
		panic(err)
	}
	stored, _, _ := srv.Get("user.1") // what the server holds
	fmt.Println(stored)

	u, err := sodp.Get[Account](ctx, client, "user.1") // read back by the same rules
	fmt.Printf("%+v %v\n", u.Value, err)
	// Output:
	// map[email:a@example.com id:1]
	// {ID:1 Email:a@example.com Password: Nick:} <nil>
}

// AccountPatch sends only the fields that are set: every one is omitempty.
type AccountPatch struct {
	Email string `json:"email,omitempty"`
	Nick  string `json:"nick,omitempty"`
}

func ExampleClient_Patch() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("user.1", map[string]any{"id": 1, "email": "a@example.com"})
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	if _, err := client.Patch(ctx, "user.1", AccountPatch{Nick: "ann"}); err != nil {
		panic(err)
	}
	stored, _, _ := srv.Get("user.1")
	fmt.Println(stored)
	// Output: map[email:a@example.com id:1 nick:ann]
}

func ExampleParseDialect() {
	d, err := sodp.ParseDialect("TypeScript")
	fmt.Println(d, err, d == sodp.DialectTS)
	// Output: ts <nil> true
}
