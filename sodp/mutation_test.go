package sodp_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sodp-go/client/sodp"
)

// TestMutationCheckQuietForAGoodReader: with the check on, a reader that
// does not modify what it gets sees every update, conflated, buffered and
// of a part, over deltas that share most of the value.
func TestMutationCheckQuietForAGoodReader(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL, sodp.WithMutationCheck())
	srv.Set("game", map[string]any{"players": map[string]any{"ann": map[string]any{"hp": 10}}, "log": []any{"start"}})
	subs := []*sodp.Subscription[any]{
		watch[any](t, c, "game"),
		watch[any](t, c, "game", sodp.WithBuffer(16)),
	}
	part, err := sodp.WatchPath[any](ctxT(t), c, "game", "/players")
	if err != nil {
		t.Fatal(err)
	}
	subs = append(subs, part)
	m := watch[map[string]any](t, c, "game")
	for _, s := range subs {
		next(t, s)
	}
	next(t, m)
	for i := range 5 {
		srv.SetIn("game", "/players/ann/hp", i)
		srv.SetIn("game", "/log/-", i)
	}
	for _, s := range subs {
		nextUntil(t, s, func(u sodp.Update[any]) bool {
			p, _ := u.Value.(map[string]any)["ann"]
			if p == nil {
				p = u.Value.(map[string]any)["players"].(map[string]any)["ann"]
			}
			return p.(map[string]any)["hp"] == int64(4)
		})
	}
	for _, s := range subs {
		s.Close() // checks what each holds
	}
}

// TestMutationCheckPanics runs a reader that modifies a value it was
// given, in a child process (the check panics, which ends the process),
// and reads the panic there.
func TestMutationCheckPanics(t *testing.T) {
	if os.Getenv("SODP_MUTATION_CHILD") == "1" {
		mutatingReader(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutationCheckPanics$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SODP_MUTATION_CHILD=1", "SODP_MUTATION_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child did not fail:\n%s", out)
	}
	want := `panic: sodp: the value of cfg (version 1) handed to a reader was modified at "/db/hosts/1"`
	if !strings.Contains(string(out), want) {
		t.Fatalf("child output lacks %q:\n%s", want, out)
	}
}

// mutatingReader modifies a delivered value (the environment turns the
// check on) and makes the client deliver the next one.
func mutatingReader(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	srv.Set("cfg", map[string]any{"db": map[string]any{"hosts": []any{"a", "b"}}})
	sub := watch[any](t, c, "cfg")
	u := next(t, sub)
	u.Value.(map[string]any)["db"].(map[string]any)["hosts"].([]any)[1] = "evil"
	srv.Set("cfg", map[string]any{"db": "other"})
	next(t, sub)
	t.Fatal("the modified value went unnoticed")
}
