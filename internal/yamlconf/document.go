package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ReadFile reads the file at path, up to maxSize+1 bytes (Document
// rejects more). Errors are the os errors, for the caller to wrap: the
// file, not its content, is at fault.
func ReadFile(path string, maxSize int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(maxSize)+1))
}

// Document returns the root node of the single YAML document in data (nil
// for an empty file). Syntax errors, a second document and files over
// maxSize bytes are FieldErrors carrying kind.
func Document(name string, data []byte, maxSize int, kind error) (*yaml.Node, error) {
	if len(data) > maxSize {
		return nil, &FieldError{File: name, Msg: fmt.Sprintf("file too large (more than %d bytes)", maxSize), Kind: kind}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err, kind)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{File: name, Line: extra.Line, Msg: "only one YAML document allowed", Kind: kind}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, err, kind)
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(name string, err error, kind error) error {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Msg: "syntax error: " + m[2], Kind: kind}
	}
	return &FieldError{File: name, Msg: "syntax error: " + strings.TrimPrefix(msg, "yaml: "), Kind: kind}
}

// Describe shows a node in a "got ..." message.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return Quote(n.Value)
	case "!!null":
		return "null"
	}
	if len(n.Value) > 40 {
		return n.Value[:40] + "..."
	}
	return n.Value
}

// HasKey reports whether mapping n has the key.
func HasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return true
		}
	}
	return false
}
