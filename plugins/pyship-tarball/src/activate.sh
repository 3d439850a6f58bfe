#!/bin/sh
# pyship-activate, written by pyship-tarball: makes this release of #NAME# the current one,
# or rolls back to the one before. Needs only a POSIX shell and coreutils.
#
#   #PREFIX#/releases/RELEASE/pyship-activate       make RELEASE current
#   #PREFIX#/current/pyship-activate --rollback     go back to the release before
#
# `current` is a symlink to `releases/RELEASE`, replaced atomically (a new link renamed over
# the old one), so every process sees one release or the other. The last #KEEP# activated
# releases are kept; older ones are removed.
set -eu

prefix='#PREFIX#'
release='#RELEASE#'
keep=#KEEP#
releases="$prefix/releases"
history="$prefix/.pyship-history"

say() { printf 'pyship-activate: %s\n' "$*"; }
die() { printf 'pyship-activate: error: %s\n' "$*" >&2; exit 1; }
# A release is a plain directory name of releases/: the history file is data, never a path.
plain_release() {
    case "$1" in
        "" | .* | */* | *[!A-Za-z0-9._+~-]*) return 1 ;;
    esac
    return 0
}

case "${1:-}" in
    -h|--help)
        sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac

# One activation at a time: two at once would race on `current` and on the history (and
# could leave `current` pointing at a release the other removed).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$prefix/.pyship-activate.lock"
    flock 9 || die "could not lock $prefix/.pyship-activate.lock"
else
    lock="$prefix/.pyship-activate.lock.d"
    waited=0
    until mkdir "$lock" 2>/dev/null; do
        waited=$((waited + 1))
        [ "$waited" -le 600 ] || die "another pyship-activate holds $lock (remove it if none runs)"
        sleep 0.1 2>/dev/null || sleep 1
    done
    trap 'rmdir "$lock" 2>/dev/null' EXIT
fi

case "${1:-}" in
    "")
        target=$release
        ;;
    --rollback)
        [ -f "$history" ] || die "nothing was activated yet"
        current=$(readlink "$prefix/current" 2>/dev/null || true)
        current=${current#releases/}
        # The history's last line is the current release; the one before is the target.
        target=$(grep -v -x -F -- "$current" "$history" | tail -n 1 || true)
        [ -n "$target" ] || die "no earlier release to roll back to"
        plain_release "$target" || die "the history names \`$target\`, which is not a release of $releases"
        ;;
    *)
        die "unknown argument \`$1\`: give nothing to activate this release, or --rollback"
        ;;
esac

dir="$releases/$target"
# The archive's last member: a release without it was not extracted to the end.
[ -f "$dir/.pyship-release-complete" ] ||
    die "$dir is not a complete release (an interrupted extraction?); extract its archive again"

# Told to the user's fragments, as every format tells them.
if [ "${1:-}" = --rollback ]; then
    PYSHIP_ACTION=rollback
elif [ -e "$prefix/current" ]; then
    PYSHIP_ACTION=upgrade
else
    PYSHIP_ACTION=install
fi
#PREINST#
#USER#
previous=$(readlink "$prefix/current" 2>/dev/null || true)
ln -sfn "releases/$target" "$prefix/.current.$$"
mv -T "$prefix/.current.$$" "$prefix/current"

# The history lists activated releases, oldest first, each once; a rollback forgets the
# release it leaves.
touch "$history"
if [ "${1:-}" = --rollback ]; then
    grep -v -x -F -- "$current" "$history" >"$history.$$" || true
else
    grep -v -x -F -- "$target" "$history" >"$history.$$" || true
    printf '%s\n' "$target" >>"$history.$$"
fi
mv "$history.$$" "$history"
say "current -> releases/$target"
#POSTINST#
#HEALTH#

total=$(wc -l <"$history")
if [ "$total" -gt "$keep" ]; then
    head -n "$((total - keep))" "$history" | while IFS= read -r old; do
        if plain_release "$old" && [ "$old" != "$target" ] && [ -d "$releases/$old" ]; then
            rm -rf "${releases:?}/$old"
            say "removed the old release $old"
        fi
    done
    tail -n "$keep" "$history" >"$history.$$"
    mv "$history.$$" "$history"
fi
