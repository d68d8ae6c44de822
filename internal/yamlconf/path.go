package yamlconf

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Step is one segment of a field path: "phases[0]" is name "phases",
// index 0; "rate" has index -1.
type Step struct {
	Name  string
	Index int // -1: no index
}

// Path is a dotted field path such as "phases[0].rate".
type Path []Step

func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Name)
		if s.Index >= 0 {
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String()
}

// ParsePath splits "phases[0].rate" into steps. Names are lowercase
// snake_case, as every configuration key is.
func ParsePath(path string) (Path, error) {
	var out Path
	for _, part := range strings.Split(path, ".") {
		s := Step{Name: part, Index: -1}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("PATH %q: unclosed [ in %q", path, part)
			}
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("PATH %q: index in %q must be a whole number >= 0", path, part)
			}
			s.Name, s.Index = part[:i], n
		}
		if !validName(s.Name) {
			return nil, fmt.Errorf("PATH %q: %q is not a field name", path, s.Name)
		}
		out = append(out, s)
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// FieldType finds the Go type a path names inside struct type t, by the
// fields' YAML names (inline structs looked into, pointers followed).
func FieldType(t reflect.Type, p Path) (reflect.Type, error) {
	at := ""
	for _, s := range p {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("%s is a value, not a section", at)
		}
		si := structOf(t)
		fi, ok := si.fields[s.Name]
		if !ok {
			where := at
			if where == "" {
				where = "the top level"
			}
			return nil, fmt.Errorf("unknown field %q at %s (known: %s)", s.Name, where, strings.Join(si.names, ", "))
		}
		at = strings.TrimPrefix(at+"."+s.Name, ".")
		t = t.FieldByIndex(fi.index).Type
		switch {
		case s.Index >= 0 && t.Kind() != reflect.Slice:
			return nil, fmt.Errorf("%s is not a list", at)
		case s.Index >= 0:
			t = t.Elem()
			at += fmt.Sprintf("[%d]", s.Index)
		case t.Kind() == reflect.Slice:
			return nil, fmt.Errorf("%s is a list: name an element, e.g. %s[0]", at, at)
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, nil
}

// maxEditNodes bounds alias expansion in Set (a decoder has its own
// limits; this one guards the copy made here).
const maxEditNodes = 1_000_000

// Set writes the scalar lit at each target path of a YAML file and
// returns the new file. Aliases are expanded first so that an edit stays
// local to its path; a key that comes only from a merge ("<<") is copied
// into an explicit key, which overrides the merge.
func Set(data []byte, targets []Path, lit string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse file: %w", err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	budget := maxEditNodes
	if err := expandAliases(doc.Content[0], &budget); err != nil {
		return nil, err
	}
	for _, p := range targets {
		if err := setPath(doc.Content[0], p, lit); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("write file: %w", err)
	}
	return out, nil
}

func setPath(n *yaml.Node, p Path, lit string) error {
	at := ""
	for i, s := range p {
		last := i == len(p)-1
		at = strings.TrimPrefix(at+"."+s.Name, ".")
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("the file's %s is not a mapping", at)
		}
		child := mapChild(n, s.Name)
		if child == nil {
			if s.Index >= 0 {
				return fmt.Errorf("the file has no %s list", at)
			}
			child = &yaml.Node{Kind: yaml.MappingNode}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.Name}, child)
		}
		if s.Index >= 0 {
			if child.Kind != yaml.SequenceNode || s.Index >= len(child.Content) {
				return fmt.Errorf("the file's %s has no element %d", at, s.Index)
			}
			child = child.Content[s.Index]
			at += fmt.Sprintf("[%d]", s.Index)
		}
		if last {
			*child = yaml.Node{Kind: yaml.ScalarNode, Value: lit, LineComment: child.LineComment, Line: child.Line}
			return nil
		}
		n = child
	}
	return nil
}

// mapChild returns the value of key in mapping m, copying it out of a
// merged mapping into an explicit key when needed; nil when absent.
func mapChild(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.ShortTag() != "!!merge" {
			return m.Content[i+1]
		}
	}
	for _, src := range mergeSources(m) {
		if v := mapChild(src, key); v != nil {
			cp := deepCopy(v)
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, cp)
			return cp
		}
	}
	return nil
}

// mergeSources lists the mappings merged into m ("<<: *a" or "<<: [*a, *b]").
func mergeSources(m *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].ShortTag() != "!!merge" {
			continue
		}
		src := resolveAlias(m.Content[i+1])
		srcs := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			srcs = src.Content
		}
		for _, s := range srcs {
			if s = resolveAlias(s); s.Kind == yaml.MappingNode {
				out = append(out, s)
			}
		}
	}
	return out
}

func expandAliases(n *yaml.Node, budget *int) error {
	if *budget--; *budget < 0 {
		return errors.New("file too large to edit (aliases expand past 1,000,000 nodes)")
	}
	n.Anchor = ""
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			n.Content[i] = deepCopy(c.Alias)
		}
		if err := expandAliases(n.Content[i], budget); err != nil {
			return err
		}
	}
	return nil
}

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopy(k)
	}
	return &c
}

// LineOf finds where field ("phases[1].rate") is set in the file whose
// root mapping is root, through aliases and merge keys; 0 when it is not.
func LineOf(root *yaml.Node, field string) int {
	p, err := ParsePath(field)
	if err != nil {
		return 0
	}
	n, line := root, 0
	for _, s := range p {
		k, v := lookup(n, s.Name)
		if v == nil {
			return 0
		}
		line, n = k.Line, v
		if s.Index >= 0 {
			if n.Kind != yaml.SequenceNode || s.Index >= len(n.Content) {
				return 0
			}
			n = resolveAlias(n.Content[s.Index])
			line = n.Line
		}
	}
	return line
}

// lookup is mapChild without the copy: key and value of key in mapping m.
func lookup(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = resolveAlias(m)
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.ShortTag() != "!!merge" {
			return k, resolveAlias(m.Content[i+1])
		}
	}
	for _, s := range mergeSources(m) {
		if k, v := lookup(s, key); v != nil {
			return k, v
		}
	}
	return nil, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// Relocate points the FieldErrors in err at the lines of the original
// file: an edited copy (Set) was written out again, so its line numbers
// differ. A field the original does not set gets no line.
func Relocate(err error, original []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(original, &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	fix := func(fe *FieldError) *FieldError {
		c := *fe
		c.Line = LineOf(doc.Content[0], fe.Field)
		return &c
	}
	var list ErrorList
	if errors.As(err, &list) {
		out := make(ErrorList, len(list))
		for i, fe := range list {
			out[i] = fix(fe)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fix(fe)
	}
	return err
}
