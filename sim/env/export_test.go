package env

import (
	"github.com/johannesboyne/gofakes3"
	"github.com/stormsim/stormsim/internal/objstore"
)

// NotifyingBackend is b calling notify for every completed staging write,
// as the embedded S3 does (for tests that serve S3 as a remote server).
func NotifyingBackend(b *objstore.Backend, notify func(key string, size int64)) gofakes3.Backend {
	return &notifyingBackend{Backend: b, notify: notify}
}
