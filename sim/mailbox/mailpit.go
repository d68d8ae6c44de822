package mailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Mailpit reads messages back from a Mailpit server's HTTP API
// (https://mailpit.axllent.org/docs/api-v1/): a search by Message-ID, then
// each message's headers.
type Mailpit struct {
	// URL is the API base, for example http://127.0.0.1:8025.
	URL    string
	Client *http.Client // default: a client with a 30 s timeout
	// PageSize is the search page size (default 500).
	PageSize int
}

type mailpitSearch struct {
	MessagesCount int `json:"messages_count"`
	Messages      []struct {
		ID        string    `json:"ID"`
		MessageID string    `json:"MessageID"`
		Created   time.Time `json:"Created"`
	} `json:"messages"`
}

// Read returns every message whose Message-ID contains domain (a run's
// Message-ID domain), oldest first. At is Mailpit's receive time, its wall
// clock at millisecond precision.
func (m Mailpit) Read(ctx context.Context, domain string) ([]Received, error) {
	page := m.PageSize
	if page <= 0 {
		page = 500
	}
	var out []Received
	for start := 0; ; start += page {
		q := url.Values{"query": {"message-id:" + domain}, "start": {fmt.Sprint(start)}, "limit": {fmt.Sprint(page)}}
		var res mailpitSearch
		if err := m.get(ctx, "/api/v1/search?"+q.Encode(), &res); err != nil {
			return nil, fmt.Errorf("search mailpit: %w", err)
		}
		for _, s := range res.Messages {
			var h map[string][]string
			if err := m.get(ctx, "/api/v1/message/"+url.PathEscape(s.ID)+"/headers", &h); err != nil {
				return nil, fmt.Errorf("read mailpit headers %s: %w", s.ID, err)
			}
			hdr := mail.Header(h)
			out = append(out, Received{EventID: hdr.Get(HeaderEvent), MessageID: "<" + strings.Trim(s.MessageID, "<>") + ">",
				At: s.Created, Header: hdr})
		}
		if len(res.Messages) < page || start+page >= res.MessagesCount {
			break
		}
	}
	// The search answers newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (m Mailpit) get(ctx context.Context, path string, v any) error {
	c := m.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(m.URL, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
