package session

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocListsFiles: the Files section of the package documentation names
// every non-test file of the package, and names no file that is not there.
func TestDocListsFiles(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	start, end := strings.Index(text, "// # Files"), strings.Index(text, "// # Goroutines")
	if start < 0 || end < start {
		t.Fatal("doc.go has no Files section before Goroutines")
	}
	listed := map[string]bool{}
	item := regexp.MustCompile(`^//   - ([a-z_]+\.go(?:, [a-z_]+\.go)*):`)
	for _, line := range strings.Split(text[start:end], "\n") {
		if m := item.FindStringSubmatch(line); m != nil {
			for _, f := range strings.Split(m[1], ", ") {
				listed[f] = true
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		present[f] = true
		if !listed[f] {
			t.Errorf("doc.go does not list %s", f)
		}
	}
	for f := range listed {
		if !present[f] {
			t.Errorf("doc.go lists %s, which is not a file of the package", f)
		}
	}
}
