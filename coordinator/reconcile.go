package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Lister is the optional capability the reconciler needs: listing the
// staging area. *s3.Client has it; a store without it cannot reconcile.
type Lister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ Lister = (*s3.Client)(nil)

// ErrNoLister is returned by Reconcile when the object store cannot list.
var ErrNoLister = errors.New("object store cannot list objects")

// reconcileWorkers bounds how many staged objects one pass handles at once.
const reconcileWorkers = 16

// Reconcile sweeps the staging area and handles every staged object older
// than olderThan (by its LastModified against the coordinator's clock), as
// if its S3 notification had arrived: for events that were lost (S3 does not
// promise delivery) or gave up after Lambda's retries. Handling is
// idempotent, so a sweep racing a live or late event reaches the same
// outcome. n counts the objects handled without error; the errors of the
// others are joined.
//
// Run it periodically with a bound well above the normal decision time
// (minutes in production), and once with 0 when nothing is uploading.
func (c *Coordinator) Reconcile(ctx context.Context, olderThan time.Duration) (n int, err error) {
	l, ok := c.s3.(Lister)
	if !ok {
		return 0, ErrNoLister
	}
	cutoff := c.cfg.Now().Add(-olderThan)
	keys := make(chan string)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // guards done and errs
		done int
		errs []error
	)
	for range reconcileWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range keys {
				herr := c.HandleKey(ctx, key)
				mu.Lock()
				if herr != nil {
					if len(errs) < 16 { // enough to tell what went wrong
						errs = append(errs, herr)
					}
				} else {
					done++
				}
				mu.Unlock()
			}
		}()
	}
	p := s3.NewListObjectsV2Paginator(l, &s3.ListObjectsV2Input{Bucket: &c.cfg.Bucket, Prefix: aws.String(c.StagingPrefix())})
	var listErr error
list:
	for p.HasMorePages() {
		page, perr := p.NextPage(ctx)
		if perr != nil {
			listErr = fmt.Errorf("list %s: %w", c.StagingPrefix(), perr)
			break
		}
		for _, o := range page.Contents {
			if o.LastModified != nil && o.LastModified.After(cutoff) {
				continue // young: its event is probably still on its way
			}
			if _, _, err := ParseStagingKey(strings.TrimPrefix(aws.ToString(o.Key), c.cfg.ObjectPrefix)); err != nil {
				continue // not an upload: HandleKey would ignore it too
			}
			select {
			case keys <- aws.ToString(o.Key):
			case <-ctx.Done():
				listErr = ctx.Err()
				break list
			}
		}
	}
	close(keys)
	wg.Wait()
	if listErr != nil {
		errs = append(errs, listErr)
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("reconcile: %w", errors.Join(errs...))
	}
	return done, nil
}
