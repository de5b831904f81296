#!/bin/sh
#
# alertmanager/render-config.sh -- renders the Alertmanager configuration template
# (alertmanager/alertmanager.template.yml) from the environment, since Alertmanager itself
# does not expand variables. POSIX sh and awk only: it runs in the prom/alertmanager image
# (busybox) at container start and on Debian for scripts/stack and scripts/check-configs.
#
#   alertmanager/render-config.sh TEMPLATE > alertmanager.yml
#
# Variables (.env.example; an empty one means "not used"):
#   DISCORD_WEBHOOK_URL                 Discord integration (every severity)
#   SMTP_SMARTHOST (host:port), SMTP_FROM, ALERT_EMAIL_TO
#                                       e-mail integration (critical, warning): all three or none
#   SMTP_USERNAME, SMTP_PASSWORD        SMTP login: both or neither
#   SMTP_REQUIRE_TLS [true]             true or false
#   PAGERDUTY_ROUTING_KEY               PagerDuty Events API v2 integration (critical)
#   PAGERDUTY_URL [https://events.pagerduty.com/v2/enqueue]
# The secrets may come from files instead: DISCORD_WEBHOOK_URL_FILE, SMTP_PASSWORD_FILE,
# PAGERDUTY_ROUTING_KEY_FILE (the file's content, trailing newlines removed; setting both
# NAME and NAME_FILE is an error).
#
# An integration whose settings are all empty is left out of the output (the routes stay;
# a receiver may have no integration). A half-configured one is an error: one line on
# stderr naming the variables (never their values), exit 1, nothing on stdout. Values are
# written as double-quoted YAML strings, escaped. The output holds the secrets: write it
# with a umask of 077.
set -eu

prog=render-config

die() {
    printf '%s: ERROR: %s\n' "$prog" "$*" >&2
    exit 1
}

[ "$#" -eq 1 ] || die "usage: render-config.sh TEMPLATE > OUTPUT"
template=$1
[ -r "$template" ] || die "cannot read the template $template"

# NAME_FILE -> NAME (the file's content), for the secrets.
for name in DISCORD_WEBHOOK_URL SMTP_PASSWORD PAGERDUTY_ROUTING_KEY; do
    eval "file=\${${name}_FILE:-} value=\${${name}:-}"
    if [ -n "$file" ]; then
        [ -z "$value" ] || die "both $name and ${name}_FILE are set; set one of them"
        [ -f "$file" ] && [ -r "$file" ] || die "${name}_FILE: cannot read the file it names"
        value=$(cat "$file") || die "${name}_FILE: cannot read the file it names"
        eval "$name=\$value"
    fi
done

DISCORD_WEBHOOK_URL=${DISCORD_WEBHOOK_URL:-}
SMTP_SMARTHOST=${SMTP_SMARTHOST:-}
SMTP_FROM=${SMTP_FROM:-}
SMTP_USERNAME=${SMTP_USERNAME:-}
SMTP_PASSWORD=${SMTP_PASSWORD:-}
SMTP_REQUIRE_TLS=${SMTP_REQUIRE_TLS:-true}
ALERT_EMAIL_TO=${ALERT_EMAIL_TO:-}
PAGERDUTY_ROUTING_KEY=${PAGERDUTY_ROUTING_KEY:-}
PAGERDUTY_URL=${PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}

is_url() {
    case "$1" in
        http://?* | https://?*) return 0 ;;
        *) return 1 ;;
    esac
}

enabled=""

# Discord
if [ -n "$DISCORD_WEBHOOK_URL" ]; then
    is_url "$DISCORD_WEBHOOK_URL" || die "DISCORD_WEBHOOK_URL is not an http:// or https:// URL"
    enabled="$enabled discord"
fi

# E-mail: any of its settings turns it on, and then the three addresses are required.
if [ -n "$SMTP_SMARTHOST$SMTP_FROM$ALERT_EMAIL_TO$SMTP_USERNAME$SMTP_PASSWORD" ]; then
    set_vars="" missing=""
    for name in SMTP_SMARTHOST SMTP_FROM ALERT_EMAIL_TO SMTP_USERNAME SMTP_PASSWORD; do
        eval "value=\$$name"
        [ -z "$value" ] || set_vars="$set_vars, $name"
    done
    for name in SMTP_SMARTHOST SMTP_FROM ALERT_EMAIL_TO; do
        eval "value=\$$name"
        [ -n "$value" ] || missing="$missing, $name"
    done
    [ -z "$missing" ] ||
        die "e-mail is half-configured: ${set_vars#, } set but ${missing#, } empty (set SMTP_SMARTHOST, SMTP_FROM and ALERT_EMAIL_TO, or leave every SMTP_* and ALERT_EMAIL_TO empty)"
    # host:port, the host possibly an [IPv6] literal.
    port=${SMTP_SMARTHOST##*:} host=${SMTP_SMARTHOST%:*}
    case "$SMTP_SMARTHOST" in *:*) ;; *) host="" ;; esac
    case "$port" in "" | *[!0-9]*) host="" ;; esac
    [ -n "$host" ] || die "SMTP_SMARTHOST must be host:port (e.g. smtp.example.com:587)"
    if [ -n "$SMTP_USERNAME" ] && [ -z "$SMTP_PASSWORD" ]; then
        die "e-mail is half-configured: SMTP_USERNAME set but SMTP_PASSWORD empty (set both, or neither for a relay without login)"
    fi
    if [ -z "$SMTP_USERNAME" ] && [ -n "$SMTP_PASSWORD" ]; then
        die "e-mail is half-configured: SMTP_PASSWORD set but SMTP_USERNAME empty (set both, or neither for a relay without login)"
    fi
    enabled="$enabled email"
    [ -z "$SMTP_USERNAME" ] || enabled="$enabled smtp_auth"
fi
case "$SMTP_REQUIRE_TLS" in
    true | True | TRUE) SMTP_REQUIRE_TLS=true ;;
    false | False | FALSE) SMTP_REQUIRE_TLS=false ;;
    *) die "SMTP_REQUIRE_TLS must be true or false" ;;
esac

# PagerDuty: the routing key turns it on (PAGERDUTY_URL has a default).
if [ -n "$PAGERDUTY_ROUTING_KEY" ]; then
    is_url "$PAGERDUTY_URL" || die "PAGERDUTY_URL is not an http:// or https:// URL"
    enabled="$enabled pagerduty"
fi

export DISCORD_WEBHOOK_URL SMTP_SMARTHOST SMTP_FROM SMTP_USERNAME SMTP_PASSWORD \
    SMTP_REQUIRE_TLS ALERT_EMAIL_TO PAGERDUTY_ROUTING_KEY PAGERDUTY_URL
RENDER_ENABLED="$enabled"
export RENDER_ENABLED

# Values go in through ENVIRON (awk -v would interpret backslashes), and the output is
# printed only once the whole template rendered, so an error leaves stdout empty.
awk -v prog="$prog" -v source="${template##*/}" '
function fail(msg) {
    printf "%s: ERROR: %s:%d: %s\n", prog, FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
# A double-quoted YAML scalar: backslash, quote and control characters escaped.
function quote(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") out = out "\\\\"
        else if (c == "\"") out = out "\\\""
        else if (c == "\n") out = out "\\n"
        else if (c == "\r") out = out "\\r"
        else if (c == "\t") out = out "\\t"
        else out = out c
    }
    return "\"" out "\""
}
BEGIN {
    split("DISCORD_WEBHOOK_URL SMTP_SMARTHOST SMTP_FROM SMTP_USERNAME SMTP_PASSWORD ALERT_EMAIL_TO PAGERDUTY_ROUTING_KEY PAGERDUTY_URL", names, " ")
    for (i in names) quoted[names[i]] = 1
    bare["SMTP_REQUIRE_TLS"] = 1
    split("discord email smtp_auth pagerduty", names, " ")
    for (i in names) known[names[i]] = 1
    n = split(ENVIRON["RENDER_ENABLED"], names, " ")
    for (i = 1; i <= n; i++) on[names[i]] = 1
    depth = 0
    skipping = 0
    out = "# Rendered by alertmanager/render-config.sh from " source "; do not edit.\n"
}
/^[ \t]*#[ \t]*@if[ \t]/ {
    word = $0
    sub(/^[ \t]*#[ \t]*@if[ \t]+/, "", word)
    sub(/[ \t]+$/, "", word)
    if (!(word in known)) fail("unknown integration \"" word "\" in @if")
    depth++
    keep[depth] = (word in on)
    if (!keep[depth]) skipping++
    next
}
/^[ \t]*#[ \t]*@endif[ \t]*$/ {
    if (depth == 0) fail("@endif without @if")
    if (!keep[depth]) skipping--
    depth--
    next
}
skipping > 0 { next }
# The template'"'"'s opening comment explains the template; the output gets one line instead.
!body && /^[ \t]*(#.*)?$/ { next }
{ body = 1 }
/^[ \t]*#/ { out = out $0 "\n"; next }
{
    line = $0
    rendered = ""
    while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        if (name in quoted) value = quote(ENVIRON[name])
        else if (name in bare) value = ENVIRON[name]
        else fail("unknown variable ${" name "}")
        rendered = rendered substr(line, 1, RSTART - 1) value
        line = substr(line, RSTART + RLENGTH)
    }
    out = out rendered line "\n"
}
END {
    if (failed) exit 1
    if (depth != 0) { FNR = NR; fail("@if without @endif") }
    printf "%s", out
}
' "$template"
