package sodp

import (
	"bytes"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/session"
)

// TestStatsMirrorsSession: every counter the session keeps reaches
// Stats, with the same type.
func TestStatsMirrorsSession(t *testing.T) {
	st, pt := reflect.TypeFor[session.Stats](), reflect.TypeFor[Stats]()
	for i := range st.NumField() {
		f := st.Field(i)
		g, ok := pt.FieldByName(f.Name)
		if !ok || g.Type != f.Type {
			t.Errorf("session.Stats.%s (%s) is not in Stats with the same type", f.Name, f.Type)
		}
	}
	if st.NumField() != pt.NumField() {
		t.Errorf("Stats has %d fields, session.Stats %d", pt.NumField(), st.NumField())
	}
	if OtherErrorCode != session.OtherErrorCode {
		t.Errorf("OtherErrorCode = %d, the session counts under %d", OtherErrorCode, session.OtherErrorCode)
	}
	in := session.Stats{Connects: 3, ErrorsByCode: map[int]uint64{403: 2}, PendingCalls: 4}
	out := statsOf(in)
	if out.Connects != 3 || out.ErrorsByCode[403] != 2 || out.PendingCalls != 4 {
		t.Errorf("statsOf = %+v", out)
	}
}

// TestEnumsMatchSession: the package's enums are converted from the
// session's by value, so the numbering must agree.
func TestEnumsMatchSession(t *testing.T) {
	kinds := map[session.Kind]Kind{
		session.KindSnapshot: KindSnapshot, session.KindCached: KindCached, session.KindDelta: KindDelta,
		session.KindReplayed: KindReplayed, session.KindResync: KindResync, session.KindRefused: KindRefused,
	}
	for s, p := range kinds {
		if Kind(s) != p || s.String() != p.String() {
			t.Errorf("Kind %v (%d) != %v (%d)", s, s, p, p)
		}
	}
	states := map[session.ConnState]ConnState{
		session.StateConnecting: StateConnecting, session.StateLive: StateLive, session.StateReconnecting: StateReconnecting,
		session.StateFailed: StateFailed, session.StateClosed: StateClosed,
	}
	for s, p := range states {
		if ConnState(s) != p || s.String() != p.String() {
			t.Errorf("ConnState %v != %v", s, p)
		}
	}
	dialects := map[session.Dialect]Dialect{
		session.DialectSpec: DialectSpec, session.DialectGo: DialectGo, session.DialectTS: DialectTS, session.DialectRust: DialectRust,
	}
	for s, p := range dialects {
		if Dialect(s) != p || s.String() != p.String() {
			t.Errorf("Dialect %v != %v", s, p)
		}
	}
	attrs := map[session.Attribution]Attribution{
		session.AttrNone: AttrNone, session.AttrCallID: AttrCallID, session.AttrStream: AttrStream,
		session.AttrKey: AttrKey, session.AttrOrder: AttrOrder,
	}
	for s, p := range attrs {
		if Attribution(s) != p || s.String() != p.String() {
			t.Errorf("Attribution %v != %v", s, p)
		}
	}
}

// TestDocMentionsNoInternals renders the package documentation as go doc
// -all does and checks that no internal package shows through.
func TestDocMentionsNoInternals(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/sodp-go/client/sodp")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString(pkg.Doc)
	decl := func(d ast.Decl, docText string) {
		out.WriteString(docText)
		if fd, ok := d.(*ast.FuncDecl); ok {
			sig := *fd
			sig.Body = nil // go doc shows the signature only
			d = &sig
		}
		printer.Fprint(&out, fset, d)
		out.WriteByte('\n')
	}
	for _, v := range append(pkg.Consts, pkg.Vars...) {
		decl(v.Decl, v.Doc)
	}
	for _, f := range pkg.Funcs {
		decl(f.Decl, f.Doc)
	}
	for _, ty := range pkg.Types {
		decl(ty.Decl, ty.Doc)
		for _, v := range append(ty.Consts, ty.Vars...) {
			decl(v.Decl, v.Doc)
		}
		for _, f := range append(ty.Funcs, ty.Methods...) {
			decl(f.Decl, f.Doc)
		}
	}
	text := out.String()
	if len(text) < 10000 {
		t.Fatalf("rendered only %d bytes of documentation", len(text))
	}
	bad := regexp.MustCompile(`\b(session|wire|delta)\.[A-Za-z]|PROTOCOL\.md|§`)
	for _, line := range strings.Split(text, "\n") {
		if m := bad.FindString(line); m != "" {
			t.Errorf("the documentation mentions %q: %s", m, strings.TrimSpace(line))
		}
	}
}
