package objstore

import (
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// ListBucket lists the keys under prefix in key order, folding keys past
// the delimiter into common prefixes, one page at a time. It starts at the
// prefix (or after the page's marker) instead of at the first key, so a
// listing costs what it returns, not what the bucket holds.
func (b *Backend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk := b.buckets[name]
	if bk == nil {
		return nil, gofakes3.BucketNotFound(name)
	}
	out := gofakes3.NewObjectList()
	start := ""
	if prefix.HasPrefix {
		start = prefix.Prefix
	}
	if page.HasMarker && page.Marker > start {
		start = page.Marker
	}
	it := bk.keys.Seek(start)
	if it == nil {
		return out, nil
	}
	defer it.Close()
	var (
		match gofakes3.PrefixMatch
		last  string
		n     int64
	)
	for ok := true; ok; ok = it.Next() {
		key := it.Key().(string)
		if page.HasMarker && key == page.Marker {
			continue
		}
		if prefix.HasPrefix && !strings.HasPrefix(key, prefix.Prefix) {
			break // keys are sorted: nothing further matches
		}
		if !prefix.Match(key, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == last {
				continue
			}
			out.AddPrefix(match.MatchedPart)
			last = match.MatchedPart
		} else {
			o := bk.objects[key]
			out.Add(&gofakes3.Content{
				Key:          key,
				LastModified: gofakes3.NewContentTime(o.modified),
				ETag:         gofakes3.FormatETag(o.blob.hash),
				Size:         int64(len(o.blob.data)),
			})
		}
		n++
		if page.MaxKeys > 0 && n >= page.MaxKeys {
			out.NextMarker = key
			out.IsTruncated = it.Next() && (!prefix.HasPrefix || strings.HasPrefix(it.Key().(string), prefix.Prefix))
			break
		}
	}
	return out, nil
}
