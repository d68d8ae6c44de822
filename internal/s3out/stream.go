package s3out

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MinPartSize is S3's smallest part of a multipart upload (but the last).
const MinPartSize = 5 << 20

// Stream copies a local file that another writer appends to (a run's
// history.jsonl) to one object while it grows: each whole part the file
// holds beyond what was sent goes up as a part of a multipart upload,
// read from disk (no part is held in memory), and Finish sends the rest,
// up to the file's last newline, and completes the upload. The local file
// is never changed: it stays the run's copy whatever the upload does.
//
// A Stream is used from one goroutine at a time (Run, then Finish or
// Abort).
type Stream struct {
	s3   *s3.Client
	to   Location
	key  string
	path string
	part int64

	id    string // the multipart upload's id; "" until the first part
	parts []s3types.CompletedPart
	sent  int64 // bytes sent in parts
}

// NewStream is a Stream of the file at path to the object name in the
// folder to, in parts of partSize (at least MinPartSize).
func (s *Store) NewStream(path string, to Location, name string, partSize int64) (*Stream, error) {
	if partSize < MinPartSize {
		return nil, fmt.Errorf("stream %s: part size %d is below S3's minimum of %d", name, partSize, MinPartSize)
	}
	return &Stream{s3: s.s3, to: to, key: to.key(name), path: path, part: partSize}, nil
}

// String is the object's s3:// URL.
func (st *Stream) String() string { return "s3://" + st.to.Bucket + "/" + st.key }

// Sent is how many bytes of the file went up in parts so far.
func (st *Stream) Sent() int64 { return st.sent }

// Run calls Sync at each tick until ctx ends, and returns the first
// error of a Sync (streaming stops there). The end of ctx is not an
// error: a part cut short by it is sent again by Finish.
func (st *Stream) Run(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			if err := st.Sync(ctx); err != nil {
				if ctx.Err() != nil && errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			}
		}
	}
}

// Sync sends every whole part the file holds beyond what was sent. A file
// not yet created holds nothing.
func (st *Stream) Sync(ctx context.Context) error {
	f, size, err := st.open()
	if f == nil || err != nil {
		return err
	}
	defer f.Close()
	for size-st.sent >= st.part {
		if err := st.sendPart(ctx, f, st.part); err != nil {
			return err
		}
	}
	return nil
}

// Finish sends what the file holds beyond the parts sent, up to its last
// newline (a record the writer was cut off in is left out, so the object
// ends at a whole line), and completes the object. A file never created
// is no error: streamed is false and nothing was written.
func (st *Stream) Finish(ctx context.Context) (streamed bool, err error) {
	if err := st.Sync(ctx); err != nil {
		return false, err
	}
	f, size, err := st.open()
	if err != nil {
		return false, err
	}
	if f == nil {
		return false, nil
	}
	defer f.Close()
	end, err := lastLineEnd(f, st.sent, size)
	if err != nil {
		return false, fmt.Errorf("stream %s: %w", st, err)
	}
	if st.id == "" {
		// Less than one part in all: one PUT, no multipart upload.
		_, err := st.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.to.Bucket, Key: &st.key,
			Body: io.NewSectionReader(f, 0, end), ContentLength: aws.Int64(end)})
		if err != nil {
			return false, fmt.Errorf("stream %s: %w", st, err)
		}
		return true, nil
	}
	if end > st.sent {
		if err := st.sendPart(ctx, f, end-st.sent); err != nil {
			return false, err
		}
	}
	_, err = st.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &st.to.Bucket, Key: &st.key,
		UploadId: &st.id, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: st.parts}})
	if err != nil {
		return false, fmt.Errorf("stream %s: complete the upload of %d parts: %w", st, len(st.parts), err)
	}
	return true, nil
}

// Abort abandons the multipart upload, if one was started, so the store
// does not keep (and bill) its parts.
func (st *Stream) Abort(ctx context.Context) error {
	if st.id == "" {
		return nil
	}
	_, err := st.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &st.to.Bucket, Key: &st.key, UploadId: &st.id})
	if err != nil {
		return fmt.Errorf("stream %s: abort the multipart upload: %w", st, err)
	}
	st.id, st.parts, st.sent = "", nil, 0
	return nil
}

// open opens the file and reads its size; a missing file is (nil, 0, nil).
func (st *Stream) open() (*os.File, int64, error) {
	f, err := os.Open(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", st, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stream %s: %w", st, err)
	}
	return f, fi.Size(), nil
}

// sendPart sends the n bytes of f after those sent as the next part,
// starting the multipart upload first if needed.
func (st *Stream) sendPart(ctx context.Context, f *os.File, n int64) error {
	if st.id == "" {
		out, err := st.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &st.to.Bucket, Key: &st.key})
		if err != nil {
			return fmt.Errorf("stream %s: start a multipart upload: %w", st, err)
		}
		st.id = aws.ToString(out.UploadId)
	}
	num := int32(len(st.parts) + 1)
	out, err := st.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: &st.to.Bucket, Key: &st.key, UploadId: &st.id,
		PartNumber: aws.Int32(num), Body: io.NewSectionReader(f, st.sent, n), ContentLength: aws.Int64(n)})
	if err != nil {
		return fmt.Errorf("stream %s: upload part %d: %w", st, num, err)
	}
	st.parts = append(st.parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	st.sent += n
	return nil
}

// lastLineEnd is the offset just past the last newline of f in
// [from, size), or from when that range holds none.
func lastLineEnd(f io.ReaderAt, from, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > from; {
		start := max(from, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return from, nil
}
