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
)

// packageDoc parses the package's non-test files and documents them as
// go doc does.
func packageDoc(t *testing.T) (*token.FileSet, []*ast.File, *doc.Package) {
	t.Helper()
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
	return fset, files, pkg
}

// TestDocMentionsNoInternals renders the package documentation as go doc
// -all does and checks that no internal package shows through.
func TestDocMentionsNoInternals(t *testing.T) {
	fset, files, pkg := packageDoc(t)
	var out bytes.Buffer
	out.WriteString(pkg.Doc)
	internalNames := map[string]bool{}
	var shown []ast.Decl
	decl := func(d ast.Decl, docText string) {
		shown = append(shown, d)
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
	// The comments name no internal package (the internal package sodp
	// has this package's name, which the comments use for themselves).
	internals, err := filepath.Glob("../internal/*")
	if err != nil || len(internals) == 0 {
		t.Fatalf("no internal packages found (%v)", err)
	}
	var names []string
	for _, p := range internals {
		if name := filepath.Base(p); name != "sodp" {
			names = append(names, name)
		}
	}
	bad := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\.[A-Za-z]|PROTOCOL\.md|§`)
	// The declarations go doc shows use no name of an internal package.
	for _, f := range files {
		for _, imp := range f.Imports {
			if path := strings.Trim(imp.Path.Value, `"`); strings.Contains(path, "/internal/") {
				name := filepath.Base(path)
				if imp.Name != nil {
					name = imp.Name.Name
				}
				internalNames[name] = true
			}
		}
	}
	for _, d := range shown {
		ast.Inspect(d, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && internalNames[id.Name] {
					t.Errorf("the declaration at %s shows %s.%s", fset.Position(sel.Pos()), id.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
	for _, line := range strings.Split(text, "\n") {
		if m := bad.FindString(line); m != "" {
			t.Errorf("the documentation mentions %q: %s", m, strings.TrimSpace(line))
		}
	}
}

// TestDocListsFields: the documentation of each struct type the package
// declares as an alias names every field of the struct, since go doc shows
// the alias and its comment only.
func TestDocListsFields(t *testing.T) {
	_, _, p := packageDoc(t)
	docs := map[string]string{}
	for _, ty := range p.Types {
		docs[ty.Name] = ty.Doc
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[Event](), reflect.TypeFor[ServerInfo](), reflect.TypeFor[Stats](),
		reflect.TypeFor[ServerError](), reflect.TypeFor[CloseError](), reflect.TypeFor[ConnectionEvent](),
		reflect.TypeFor[ResumeEvent](), reflect.TypeFor[SubscriptionEvent](),
	} {
		name := typ.Name()
		text, ok := docs[name]
		if !ok {
			t.Errorf("no documentation for %s", typ)
			continue
		}
		for i := range typ.NumField() {
			f := typ.Field(i).Name
			if !regexp.MustCompile(`\b` + f + `\b`).MatchString(text) {
				t.Errorf("the documentation of %s does not name its field %s", name, f)
			}
		}
	}
}
