// Package slackbot is the Slack front-end of the bot. In Socket Mode (when
// slack.app_token is set) it receives slash commands, mentions, direct
// messages and button clicks over a websocket; in HTTP mode Slack posts signed
// requests to Handler. Either way it acknowledges at once, diagnoses in the
// background (at most 8 at a time), shows live progress by editing one
// message, and renders the reply as Block Kit within Slack's limits. It is the
// only package that imports slack-go.
//
// The Slack app it expects:
//
//   - Bot token scopes: chat:write, commands, app_mentions:read, im:history,
//     files:read (snippets and shared logs are read as pasted lines);
//     usergroups:read when an access rule lists slack_groups; chat:write.public
//     is optional (without it, slash commands in channels the bot has not
//     joined are answered through their response_url).
//   - Slash command /502 (another name works too; its text is read as
//     "/502 TEXT"). In HTTP mode its request URL is https://HOST/slack/commands.
//   - Event subscriptions: app_mention and message.im; in HTTP mode the
//     request URL is https://HOST/slack/events.
//   - Interactivity on (the Re-run button); in HTTP mode its request URL is
//     https://HOST/slack/interactivity.
//   - Socket Mode: an app-level token (xapp-…) with connections:write.
//
// Where answers go: diagnoses and catalog answers to mentions and DMs are
// posted in the channel (a mention's answer in its thread), replacing the
// progress message; errors, refusals, a host list asked for in a channel and
// anything but a diagnosis asked by slash command are shown to the requester
// only (chat.postEphemeral, else the response_url).
package slackbot
