package discordbot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bwmarrin/discordgo"
)

// maxParents bounds the thread → parent cache; it is dropped when full.
const maxParents = 4096

// threadParent is the channel a thread belongs to, "" for anything else or
// when it cannot be told. Access rules that list a channel cover its
// threads, as Discord's own permissions do. Answers come from the cache
// (filled from interaction payloads and earlier lookups), else from
// GET /channels/{id} with the bot token; a failed lookup is not cached and
// leaves the request to the rules for the thread itself (deny by default).
func (a *Adapter) threadParent(ctx context.Context, guildID, channelID string) string {
	if guildID == "" || channelID == "" {
		return "" // DMs have no threads
	}
	a.parentsMu.Lock()
	parent, ok := a.parents[channelID]
	a.parentsMu.Unlock()
	if ok || a.token == "" {
		return parent
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ch, err := a.session.Channel(channelID, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Debug("looking up a channel's parent", "channel_id", channelID, "err", a.safeErr(err))
		return ""
	}
	if ch.IsThread() {
		parent = ch.ParentID
	}
	a.rememberParent(channelID, parent)
	return parent
}

func (a *Adapter) rememberParent(channelID, parent string) {
	a.parentsMu.Lock()
	defer a.parentsMu.Unlock()
	if a.parents == nil || len(a.parents) >= maxParents {
		a.parents = map[string]string{}
	}
	a.parents[channelID] = parent
}

// noteInteractionChannel reads the partial channel Discord sends with every
// interaction (discordgo's Interaction drops it), so HTTP mode, which has no
// bot token to look channels up with, still knows a thread's parent.
func (a *Adapter) noteInteractionChannel(body []byte) {
	var p struct {
		ChannelID string `json:"channel_id"`
		Channel   *struct {
			Type     discordgo.ChannelType `json:"type"`
			ParentID string                `json:"parent_id"`
		} `json:"channel"`
	}
	if json.Unmarshal(body, &p) != nil || p.ChannelID == "" || p.Channel == nil {
		return
	}
	parent := ""
	if (&discordgo.Channel{Type: p.Channel.Type}).IsThread() {
		parent = p.Channel.ParentID
	}
	a.rememberParent(p.ChannelID, parent)
}
