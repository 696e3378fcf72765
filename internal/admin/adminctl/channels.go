package adminctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tokenhot/tokenhot/internal/admin"
)

func channelList(c *cli, args []string) error {
	if _, err := c.parse(c.flags(), args); err != nil {
		return err
	}
	var chans admin.List[admin.Channel]
	raw, err := c.call("GET", "/admin/v1/channels", nil, &chans)
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "ID", "NAME", "TYPE", "ENABLED", "PRIORITY", "WEIGHT", "MODELS", "KEYS", "BASE_URL", "LIMITS")
		for _, ch := range chans.Data {
			row(w, ch.ID, ch.Name, ch.Type, ch.Enabled, ch.Priority, ch.Weight, strings.Join(ch.Models, ","),
				keysText(ch.Keys), ch.BaseURL, rateText(ch.Limits))
		}
	})
}

func keysText(k admin.MaskedKeys) string {
	return fmt.Sprintf("%d (%s)", k.Count, strings.Join(k.Masked, ", "))
}

func (c *cli) showChannel(raw []byte, err error) error {
	var ch admin.Channel
	if err == nil {
		err = json.Unmarshal(raw, &ch)
	}
	if err != nil {
		return err
	}
	var remap []string
	for _, public := range slices.Sorted(maps.Keys(ch.ModelMap)) {
		remap = append(remap, public+"="+ch.ModelMap[public])
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "id:", ch.ID)
		row(w, "name:", ch.Name)
		row(w, "type:", ch.Type)
		row(w, "base url:", ch.BaseURL)
		row(w, "enabled:", ch.Enabled)
		row(w, "priority:", ch.Priority)
		row(w, "weight:", ch.Weight)
		row(w, "models:", strings.Join(ch.Models, ","))
		row(w, "model map:", strings.Join(remap, ","))
		row(w, "keys:", keysText(ch.Keys))
		row(w, "key ids:", strings.Join(ch.Keys.IDs, ", "))
		row(w, "limits:", rateText(ch.Limits))
	})
}

// channelSave adds a channel, or edits one (changing only the flags given).
func channelSave(edit bool) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		fs := c.flags()
		name := fs.String("name", "", "channel name")
		typ := fs.String("type", "", "upstream protocol: openai, openai-responses, anthropic, gemini, ark or openai-compatible")
		baseURL := fs.String("base-url", "", "upstream base URL, e.g. https://api.openai.com/v1")
		keys := &listFlag{}
		fs.Var(keys, "key", "upstream API key (repeat for several; replaces all keys on edit)")
		models := &listFlag{splitComma: true}
		fs.Var(models, "model", "model served (repeat, or a comma list)")
		remap := &listFlag{splitComma: true}
		fs.Var(remap, "map", "public=upstream model name (repeat; \"none\" clears on edit)")
		priority := fs.Int("priority", 0, "lower is tried first")
		weight := fs.Int("weight", 1, "share of traffic among channels of equal priority")
		disabled := fs.Bool("disabled", false, "add the channel disabled")
		rf := addRateFlags(fs)
		var names []string
		if edit {
			names = []string{"ID"}
		}
		pos, err := c.parse(fs, args, names...)
		if err != nil {
			return err
		}
		set := given(fs)
		var req admin.ChannelRequest
		if set["name"] {
			req.Name = name
		}
		if set["type"] {
			req.Type = typ
		}
		if set["base-url"] {
			req.BaseURL = baseURL
		}
		if set["key"] {
			req.Keys = append([]string{}, keys.vals...)
		}
		if set["model"] {
			req.Models = append([]string{}, models.vals...)
		}
		if set["map"] {
			req.ModelMap = map[string]string{}
			for _, m := range remap.vals {
				public, upstream, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("--map %q: want public=upstream", m)
				}
				req.ModelMap[strings.TrimSpace(public)] = strings.TrimSpace(upstream)
			}
		}
		if set["priority"] {
			req.Priority = priority
		}
		if set["weight"] {
			req.Weight = weight
		}
		if set["disabled"] {
			req.Enabled = new(!*disabled)
		}
		if rf.given(set) {
			// On edit, only the limits given change.
			req.Limits = &admin.RateLimits{}
			if err := rf.apply(set, req.Limits); err != nil {
				return err
			}
		}
		if !edit {
			return c.showChannel(c.call("POST", "/admin/v1/channels", req, nil))
		}
		id, err := id64(pos[0])
		if err != nil {
			return err
		}
		delete(set, "server")
		delete(set, "token")
		delete(set, "json")
		if len(set) == 0 {
			return errors.New("nothing to change: give at least one flag of channel add")
		}
		return c.showChannel(c.call("PATCH", "/admin/v1/channels/"+strconv.FormatInt(id, 10), req, nil))
	}
}

func (c *cli) channelPath(args []string) (string, error) {
	pos, err := c.parse(c.flags(), args, "ID")
	if err != nil {
		return "", err
	}
	id, err := id64(pos[0])
	return "/admin/v1/channels/" + strconv.FormatInt(id, 10), err
}

// channelAction shows (GET) a channel or enables or disables it.
func channelAction(method, suffix string) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		path, err := c.channelPath(args)
		if err != nil {
			return err
		}
		return c.showChannel(c.call(method, path+suffix, nil, nil))
	}
}

func channelDelete(c *cli, args []string) error {
	path, err := c.channelPath(args)
	if err != nil {
		return err
	}
	if _, err := c.call("DELETE", path, nil, nil); err != nil {
		return err
	}
	return c.done("deleted channel %s", strings.TrimPrefix(path, "/admin/v1/channels/"))
}
