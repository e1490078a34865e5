#!/usr/bin/env bash
# make container-check: the Dockerfile's steps, run for real without a Docker engine.
#
# 1. A root file system that stands for the Dockerfile's base image is built with mmdebstrap
#    (cached in build/container/, keyed by its recipe) and extracted FRESH for every run: a
#    root modified by an earlier run is never reused.
# 2. A clean export of the repository is the build context: by default the committed tree of
#    HEAD (`git archive HEAD`; uncommitted changes are NOT in it, like a CI checkout), or with
#    CONTAINER_CONTEXT=worktree the working tree's tracked and untracked, non-ignored files.
#    .dockerignore is applied to it.
# 3. The Dockerfile is interpreted instruction by instruction (FROM, ARG, ENV, WORKDIR, COPY,
#    RUN, CMD, LABEL; anything else is refused): RUN runs `/bin/sh -c` in a chroot with the
#    image's environment, as root, as `docker build` would.
# 4. Then the image is checked as `docker run` would use it: make sim on both simulators and a
#    short, named subset of make test (CONTAINER_TEST_ARGS), with no `python` on PATH.
# A summary table gives each step's status and wall time; the exit status is non-zero if any
# step failed.
#
# Options (environment):
#   CONTAINER_PIP_HANDOVER=auto|yes|no  hand the host's pip configuration to the root: its config
#       files, PIP_* variables, the files they name (CA bundle, constraints; copied) and the
#       directories they name (find-links, file:// indexes; bind-mounted read-only). auto: when
#       the host has such configuration. While handing over, the Dockerfile's ARG SETUP_PIP_ARGS
#       is overridden with '' (as `docker build --build-arg SETUP_PIP_ARGS=` would), because the
#       index it names (PyTorch's CPU index) may be unreachable where the handover is needed.
#   CONTAINER_CONTEXT=head|worktree     what goes in (default head: the committed tree)
#   CONTAINER_REF=HEAD                  the commit whose tree goes in (CONTAINER_CONTEXT=head)
#   CONTAINER_TEST_ARGS                 pytest arguments of the `make test` step
#   CONTAINER_KEEP_LOGS                 logs stay in build/container/logs either way
#   CONTAINER_CHECK_VERBOSE=1           stream every step's output, not only its log
#   --plan [DOCKERFILE]                 print how the Dockerfile would be reproduced and exit
#                                       (no root, no network; used by the tests)
#   --devnull-preflight [PATH]          the /dev/null preflight on PATH (default /dev/null) and
#                                       exit (used by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)

say() { printf 'container-check: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

HANDOVER=${CONTAINER_PIP_HANDOVER:-auto}
CONTEXT_KIND=${CONTAINER_CONTEXT:-head}
REF=${CONTAINER_REF:-HEAD}
TEST_ARGS=${CONTAINER_TEST_ARGS:-tests/tb/test_sim.py -k 3x3-d8-a32}
VERBOSE=${CONTAINER_CHECK_VERBOSE:-}
WORK=$REPO/build/container
HOOKS=/usr/share/mmdebstrap/hooks/merged-usr
# The slim images' dpkg excludes (documentation, manuals, translations), so that packages
# installed later in the root land as they would in the image.
SLIM_DPKG_OPTS=(
    "path-exclude=/usr/share/doc/*" "path-include=/usr/share/doc/*/copyright"
    "path-exclude=/usr/share/info/*" "path-exclude=/usr/share/man/*"
    "path-exclude=/usr/share/locale/*" "path-exclude=/usr/share/lintian/*"
    "path-exclude=/usr/share/linda/*"
)

# --- the base image and the root that stands for it ------------------------------------------
# stand_in REF: SUITE, INCLUDE (extra Debian packages), EXACT (yes/no), NOTE, BASE_ENV (the
# image's own environment). Only Debian-based images whose content mmdebstrap can reproduce.
stand_in() {
    local ref=${1%%@*}
    ref=${ref#docker.io/}
    ref=${ref#library/}
    BASE_ENV=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    case $ref in
        debian:bookworm-slim | debian:bookworm-[0-9]*-slim | debian:12-slim | debian:12.*-slim)
            SUITE=bookworm INCLUDE="" EXACT=yes
            NOTE="perl-base only, no Python, as in Debian's slim image" ;;
        python:3.11-slim-bookworm | python:3.11.*-slim-bookworm)
            # The image's CPython is built with --enable-shared: libpython3.11 stands for that.
            SUITE=bookworm INCLUDE=python3,python3-venv,libpython3.11 EXACT=no
            NOTE="APPROXIMATE: Debian's python3 3.11 + libpython3.11 stand in for the image's own shared CPython in /usr/local (which also has a python alias); perl-base only, as in the image"
            BASE_ENV+=("LANG=C.UTF-8") ;;
        *) return 1 ;;
    esac
}

# --- the Dockerfile ------------------------------------------------------------------------------
# Logical instructions: comment and blank lines dropped, backslash continuations joined.
dockerfile_lines() {
    awk '
        /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
        { line = $0
          if (sub(/\\[[:space:]]*$/, "", line)) { buf = buf line " "; next }
          out = buf line; buf = ""
          gsub(/[[:space:]]+$/, "", out); sub(/^[[:space:]]+/, "", out)
          print out }
        END { if (buf != "") print buf }
    ' "$1"
}

# Words of an ARG/ENV/COPY argument list, with Docker-like quotes (xargs parses quotes and
# backslashes and never runs anything).
words() { printf '%s\n' "$1" | xargs -r -n1 printf '%s\n'; }

# Instructions as "INSTR<TAB>ARGS"; refuses what this script cannot reproduce.
read_dockerfile() {
    local file=$1 line instr rest froms=0
    INSTRS=()
    while IFS= read -r line; do
        instr=${line%%[[:space:]]*}
        rest=${line#"$instr"}
        rest=${rest#"${rest%%[![:space:]]*}"}
        instr=${instr^^}
        case $instr in
            FROM) froms=$((froms + 1))
                  [ $froms -eq 1 ] || die "$file: more than one FROM (multi-stage builds are not reproduced)"
                  case $rest in *" "*) die "$file: FROM with options or AS is not reproduced: $rest" ;; esac ;;
            ARG | ENV | WORKDIR | COPY | RUN | CMD | LABEL) ;;
            *) die "$file: instruction $instr is not reproduced by this check" ;;
        esac
        case $instr in
            ENV | ARG | WORKDIR | COPY) case $rest in *'$'*)
                die "$file: variable substitution in $instr is not reproduced: $rest" ;; esac ;;
        esac
        case $instr in
            COPY) case $rest in --*) die "$file: COPY options are not reproduced: $rest" ;; esac ;;
            RUN) case $rest in '['* | --*) die "$file: only shell-form RUN without options is reproduced: $rest" ;; esac ;;
        esac
        INSTRS+=("$instr"$'\t'"$rest")
    done < <(dockerfile_lines "$file")
    [ $froms -eq 1 ] || die "$file: no FROM"
}

from_of() { local i; for i in "${INSTRS[@]}"; do [ "${i%%$'\t'*}" = FROM ] && { echo "${i#*$'\t'}"; return; }; done; }

# --- the checks after the build (as `docker run IMAGE sh -c CMD` would run them) ----------------
CHECK_NAMES=(
    "no python on PATH"
    "torch is the CPU build"
    "make sim SIM=icarus"
    "make sim SIM=verilator"
    "make test [$TEST_ARGS]"
)
CHECK_CMDS=(
    # The proof that PYTHON3 reaches Verilator's makefiles needs a root without `python`.
    'if command -v python; then echo "a python command is on PATH: the Verilator build would not prove PYTHON3 handling" >&2; exit 1; fi; echo "no python on PATH (python3: $(command -v python3))"'
    '"${VENV:-.venv}/bin/python" -c "import sys, torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda); sys.exit(torch.version.cuda is not None)"'
    'make sim SIM=icarus'
    'make sim SIM=verilator'
    "make test SIMS=icarus,verilator COV_CHECK= PYTEST_ARGS='$TEST_ARGS'"
)

# --- /dev/null and apt's sandbox user ------------------------------------------------------------
# apt drops to its sandbox user _apt to download and verify; apt-key and gpgv then write to
# /dev/null as _apt. On a host whose /dev/null is not writable by _apt (mode 0755 seen), the very
# first step fails with "apt-key: cannot create /dev/null: Permission denied" and "gpgv ...
# required for verification". The root's /dev is the host's (bound), so the Dockerfile's own
# apt-get would fail the same way. apt then runs as root: APT::Sandbox::User "root".
APT_SANDBOX_ROOT=""
APT_SANDBOX_OPT='APT::Sandbox::User "root"'

# apt_user_can_write PATH: whether apt's sandbox user _apt may write PATH, by its owner, group
# and mode bits (no _apt user: apt does not drop privileges, nothing to check).
apt_user_can_write() {
    local path=$1 mode uid gid auid g
    auid=$(id -u _apt 2>/dev/null) || return 0
    read -r mode uid gid < <(stat -L -c '%a %u %g' -- "$path" 2>/dev/null) || return 1
    mode=$((8#$mode))
    if [ "$uid" = "$auid" ]; then (( mode & 8#200 )); return; fi
    for g in $(id -G _apt 2>/dev/null); do
        if [ "$g" = "$gid" ]; then (( mode & 8#020 )); return; fi
    done
    (( mode & 8#002 ))
}

# devnull_preflight PATH: one line and exit 1 when PATH is no usable null device; APT_SANDBOX_ROOT
# set (and one line saying why) when only apt's sandbox user cannot write it.
devnull_preflight() {
    local path=$1 mode
    [ -e "$path" ] || die "preflight: $path does not exist: apt and every build step write to it"
    [ -c "$path" ] || die "preflight: $path is not a character device ($(stat -L -c %F -- "$path")): apt and every build step write to it; recreate it (mknod -m 666 /dev/null c 1 3)"
    [ -w "$path" ] || die "preflight: $path is not writable by $(id -un): apt and every build step write to it"
    if ! apt_user_can_write "$path"; then
        mode=$(stat -L -c '%a' -- "$path")
        APT_SANDBOX_ROOT=1
        say "preflight: $path (mode $mode) is not writable by apt's sandbox user _apt: apt runs as root (APT::Sandbox::User \"root\") on the host and in the root"
    fi
}

# --- plan mode: what would be done (tests parse this) -------------------------------------------
if [ "${1:-}" = --plan ]; then
    read_dockerfile "${2:-Dockerfile}"
    base=$(from_of)
    stand_in "$base" || die "no stand-in root for base image $base"
    printf 'base\t%s\n' "$base"
    printf 'standin\tsuite=%s variant=minbase hook=%s include=%s exact=%s\n' \
        "$SUITE" "$(basename "$HOOKS")" "$INCLUDE" "$EXACT"
    for i in "${INSTRS[@]}"; do printf 'step\t%s\n' "$i"; done
    for k in "${!CHECK_NAMES[@]}"; do printf 'check\t%s\t%s\n' "${CHECK_NAMES[k]}" "${CHECK_CMDS[k]}"; done
    exit 0
fi
if [ "${1:-}" = --devnull-preflight ]; then
    devnull_preflight "${2:-/dev/null}"
    printf 'apt-sandbox-root\t%s\n' "${APT_SANDBOX_ROOT:-no}"
    exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--plan [DOCKERFILE] | --devnull-preflight [PATH]]"
case $HANDOVER in auto | yes | no) ;; *) die "CONTAINER_PIP_HANDOVER=$HANDOVER: use auto, yes or no" ;; esac
case $CONTEXT_KIND in head | worktree) ;; *) die "CONTAINER_CONTEXT=$CONTEXT_KIND: use head or worktree" ;; esac

# --- prerequisites ---------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot, mount): run as root, e.g. sudo make container-check"
case $WORK in *[[:space:]]*) die "the repository path has white space; move it: $WORK" ;; esac
devnull_preflight /dev/null
HOST_APT_OPTS=()
[ -z "$APT_SANDBOX_ROOT" ] || HOST_APT_OPTS=(-o "$APT_SANDBOX_OPT")
if ! command -v mmdebstrap >/dev/null 2>&1 || [ ! -d "$HOOKS" ]; then
    command -v apt-get >/dev/null 2>&1 || die "needs mmdebstrap (Debian package) and apt-get to install it"
    say "installing mmdebstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get "${HOST_APT_OPTS[@]}" install -y -qq mmdebstrap >/dev/null 2>&1 || {
        apt-get "${HOST_APT_OPTS[@]}" update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get "${HOST_APT_OPTS[@]}" install -y -qq mmdebstrap >/dev/null
    } || die "apt-get install mmdebstrap failed"
fi
for t in chroot mount umount mountpoint findmnt flock git tar xargs sha256sum; do
    command -v $t >/dev/null 2>&1 || die "needs $t"
done

# --- step bookkeeping ----------------------------------------------------------------------------
mkdir -p "$WORK"
LOGS=$WORK/logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
ROW_NAMES=() ROW_STATUS=() ROW_TIMES=()
FAILED=0 NSTEP=0 BUILD_BROKEN="" CURRENT_STEP="" CURRENT_T0=""
T_START=$EPOCHREALTIME

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
record() { ROW_NAMES+=("$1"); ROW_STATUS+=("$2"); ROW_TIMES+=("$3"); }
short() { local s; s=$(printf '%s' "$1" | tr -s '[:space:]' ' '); [ ${#s} -le 60 ] && echo "$s" || echo "${s:0:57}..."; }
# The first line that says why, most telling kind first, over the given logs.
failure_line() {
    local pat
    for pat in "Can't locate|command not found|No such file or directory|Unable to find" \
               '^E  +[A-Za-z_.]*(Error|Exception)' '^%Error|[Ee]rror:|ERROR' 'FAILED|[Ff]ailed'; do
        grep -h -m1 -E "$pat" "$@" 2>/dev/null | head -n1 | grep . && return 0
    done
    tail -n1 "${@: -1}"
}
# Logs inside the root that a failing step's output names ("see /work/.../build.log"): copied
# out next to the step's log before the root goes, so that the cause stays readable.
inner_logs() {
    local log=$1 p n=0
    for p in $(grep -o -E "see /[^ ;,)]+\.log" "$log" | cut -c5- | sort -u); do
        [ -f "$ROOT$p" ] || continue
        n=$((n + 1))
        cp "$ROOT$p" "${log%.log}.inner$n.log" && echo "${log%.log}.inner$n.log"
    done
}

# step NAME CMD...: run CMD with its output in a log; record PASS/FAIL and the wall time. CMD
# runs in the background (so that a signal reaches this script's trap at once) unless STEP_FG=1
# (functions that must change this shell's state, e.g. the list of mounts).
step() {
    local name=$1; shift
    NSTEP=$((NSTEP + 1))
    local log; log=$LOGS/$(printf '%02d' $NSTEP)-$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-50).log
    local t0=$EPOCHREALTIME rc=0
    CURRENT_STEP=$name CURRENT_T0=$t0
    say "$(short "$name") ..."
    if [ -n "${STEP_FG:-}" ]; then
        if [ -n "$VERBOSE" ]; then "$@" > >(tee "$log") 2>&1 || rc=$?; else "$@" >"$log" 2>&1 || rc=$?; fi
    else
        if [ -n "$VERBOSE" ]; then "$@" > >(tee "$log") 2>&1 & else "$@" >"$log" 2>&1 & fi
        wait $! || rc=$?
    fi
    local dt; dt=$(elapsed "$t0")
    CURRENT_STEP=""
    if [ $rc -eq 0 ]; then
        record "$name" PASS "$dt"
        say "PASS $(short "$name") (${dt} s)"
    else
        record "$name" FAIL "$dt"
        FAILED=$((FAILED + 1))
        local -a inner=()
        [ -z "$ROOT" ] || mapfile -t inner < <(inner_logs "$log")
        say "FAIL $(short "$name") (${dt} s, exit $rc): $(failure_line ${inner[@]+"${inner[@]}"} "$log" | cut -c1-240)"
        local l
        for l in ${inner[@]+"${inner[@]}"} "$log"; do
            say "last lines of ${l#"$REPO"/}:"
            tail -n 12 "$l" | sed 's/^/    /' >&2
        done
    fi
    return $rc
}

summary() {
    local total; total=$(elapsed "$T_START")
    printf '\ncontainer-check: summary (base %s; context %s)\n' "${BASE:-?}" "${CONTEXT_DESC:-?}" >&2
    printf '  %-64s %-6s %9s\n' step status "wall [s]" >&2
    local k
    for k in "${!ROW_NAMES[@]}"; do
        printf '  %-64s %-6s %9s\n' "$(short "${ROW_NAMES[k]}")" "${ROW_STATUS[k]}" "${ROW_TIMES[k]}" >&2
    done
    printf '  %-64s %-6s %9s\n' total "$([ $FAILED -eq 0 ] && echo PASS || echo FAIL)" "$total" >&2
    say "logs: ${LOGS#"$REPO"/}/"
}

# --- mounts and cleanup (also on failure and Ctrl-C) -------------------------------------------
ROOT="" CTX="" TMP_TAR=""
MOUNTS=()
mounts_under() { findmnt -rn -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1'; }
kill_root_processes() {  # only processes whose root is our root: ours, started in the chroot
    local sig p r n=0
    for sig in TERM KILL; do
        for p in /proc/[0-9]*; do
            r=$(readlink "$p/root" 2>/dev/null) || continue
            if [ "$r" = "$ROOT" ]; then kill -s $sig "${p#/proc/}" 2>/dev/null && n=$((n + 1)); fi
        done
        [ $n -eq 0 ] && return 0
        sleep 1; n=0
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$CURRENT_STEP" ]; then  # cut short by a signal
        record "$CURRENT_STEP" INTR "$(elapsed "$CURRENT_T0")"
        FAILED=$((FAILED + 1))
    fi
    local t0=$EPOCHREALTIME
    if [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
        kill_root_processes
        local k
        for ((k = ${#MOUNTS[@]} - 1; k >= 0; k--)); do umount -l "${MOUNTS[k]}" 2>/dev/null || true; done
        local left; left=$(mounts_under "$ROOT")
        if [ -n "$left" ]; then
            say "mounts are left under $ROOT (the root is kept; umount -l them): $(echo $left)"
            rc=1
        else
            rm -rf --one-file-system "$ROOT"
        fi
    fi
    [ -z "$CTX" ] || rm -rf "$CTX"
    [ -z "$TMP_TAR" ] || rm -f "$TMP_TAR"
    if [ -n "$ROOT" ]; then
        if [ -d "$ROOT" ]; then
            record "clean-up (root kept: mounts left)" FAIL "$(elapsed "$t0")"
            FAILED=$((FAILED + 1))
        else
            record "clean-up (processes, mounts, root removed)" PASS "$(elapsed "$t0")"
        fi
    fi
    if [ ${#ROW_NAMES[@]} -gt 0 ]; then summary; fi
    if [ -n "$ROOT" ] && [ -n "$(mounts_under "$ROOT")" ]; then rc=1; fi
    exit $rc
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

bind() {  # bind SRC DEST [ro]; recorded first, so that a half-done mount is undone too
    MOUNTS+=("$2")
    mount --bind "$1" "$2" || return 1
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2" || return 1; fi
}

# --- the context: a clean export of the repository ---------------------------------------------
CTX=$(mktemp -d "$WORK/context.XXXXXX")
T_CTX=$EPOCHREALTIME
if [ "$CONTEXT_KIND" = head ]; then
    rev=$(git rev-parse --short "$REF^{commit}") || die "CONTAINER_REF=$REF is not a commit"
    git archive --format=tar "$rev" | tar -x -C "$CTX" || die "git archive $REF failed"
    dirty=$(git status --porcelain --untracked-files=no | wc -l)
    CONTEXT_DESC="git archive $REF ($rev), the committed tree"
    CTX_LABEL="git archive $rev"
    say "context: $CONTEXT_DESC$([ "$dirty" -gt 0 ] && echo "; $dirty uncommitted change(s) in the working tree are NOT in it")"
else
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -c | tar -x -C "$CTX"
    CONTEXT_DESC="working tree (tracked + untracked, not ignored)"
    CTX_LABEL="working tree"
    say "context: $CONTEXT_DESC"
fi
if [ -f "$CTX/.dockerignore" ]; then
    (
        cd "$CTX"
        shopt -s globstar dotglob nullglob
        while IFS= read -r pat || [ -n "$pat" ]; do
            pat=${pat%%#*}; pat=${pat//[[:space:]]/}
            [ -n "$pat" ] || continue
            case $pat in '!'*) say ".dockerignore exception $pat is not reproduced"; exit 1 ;; esac
            pat=${pat#/}
            for m in $pat; do rm -rf -- "$m"; done
        done < .dockerignore
    ) || die ".dockerignore could not be applied"
fi
[ -f "$CTX/Dockerfile" ] || die "no Dockerfile in the context"
record "context: $CTX_LABEL, .dockerignore applied" PASS "$(elapsed "$T_CTX")"
read_dockerfile "$CTX/Dockerfile"
BASE=$(from_of)
stand_in "$BASE" || die "no stand-in root for base image $BASE (only Debian bookworm slim bases are reproduced)"
say "base $BASE -> mmdebstrap $SUITE minbase, merged /usr${INCLUDE:+, + $INCLUDE}: $NOTE"
case $BASE in *@sha256:*) say "the digest pins the image for Docker; here the root is rebuilt from the Debian mirror (same release)" ;; esac

# --- the pip handover ------------------------------------------------------------------------------
PIP_FILES=() PIP_VARS=()
for f in "${PIP_CONFIG_FILE:-}" /etc/pip.conf; do [ -n "$f" ] && [ -f "$f" ] && PIP_FILES+=("$f:$f"); done
IFS=: read -r -a xdg <<<"${XDG_CONFIG_DIRS:-/etc/xdg}"
for d in "${xdg[@]}"; do [ -f "$d/pip/pip.conf" ] && PIP_FILES+=("$d/pip/pip.conf:/etc/xdg/pip/pip.conf"); done
[ -f "$HOME/.config/pip/pip.conf" ] && PIP_FILES+=("$HOME/.config/pip/pip.conf:/root/.config/pip/pip.conf")
[ -f "$HOME/.pip/pip.conf" ] && PIP_FILES+=("$HOME/.pip/pip.conf:/root/.pip/pip.conf")
while IFS= read -r v; do PIP_VARS+=("$v=${!v}"); done < <(compgen -e | grep '^PIP_' || true)
if [ "$HANDOVER" = auto ]; then
    if [ ${#PIP_FILES[@]} -gt 0 ] || [ ${#PIP_VARS[@]} -gt 0 ]; then HANDOVER=yes; else HANDOVER=no; fi
    say "pip handover: auto -> $HANDOVER"
elif [ "$HANDOVER" = yes ] && [ ${#PIP_FILES[@]} -eq 0 ] && [ ${#PIP_VARS[@]} -eq 0 ]; then
    die "CONTAINER_PIP_HANDOVER=yes, but the host has no pip configuration (files or PIP_* variables)"
fi
# pip's CA bundle (`cert`; PIP_CERT wins over the files, the user's file over the global ones).
# It goes to a path no Debian package owns, named by PIP_CERT in the root: Debian's
# ca-certificates (python3 pulls it in) rewrites /etc/ssl/certs/ca-certificates.crt.
PIP_CA="" CA_IN_ROOT=/usr/local/share/container-check/pip-ca-bundle.crt
if [ "$HANDOVER" = yes ]; then
    for f in "${PIP_FILES[@]}"; do
        c=$(sed -n -E 's/^[[:space:]]*cert[[:space:]]*=[[:space:]]*([^[:space:]]+).*/\1/p' "${f%%:*}" | tail -n1)
        [ -z "$c" ] || PIP_CA=$c
    done
    [ -z "${PIP_CERT:-}" ] || PIP_CA=$PIP_CERT
fi
# Paths that the configuration names: files are copied, directories bind-mounted read-only.
# A file:// index ".../simple" links to its files beside it, so its parent is handed over.
handover_paths() {
    local src words_all w
    words_all=$( { for src in "${PIP_FILES[@]}"; do grep -v -E '^[[:space:]]*([#;]|\[)' "${src%%:*}"; done
                   for w in "${PIP_VARS[@]}"; do printf '%s\n' "${w#*=}"; done; } | tr '=' ' ')
    for w in $words_all; do
        case $w in file://*) w=${w#file://} ;; file:*) w=${w#file:} ;; /*) ;; *) continue ;; esac
        w=${w%/}
        [ "$w" != "$PIP_CA" ] || continue
        [ "${w##*/}" = simple ] && [ -d "$w" ] && w=${w%/simple}
        printf '%s\n' "$w"
    done | sort -u
}

# --- the root file system: cached tarball, extracted fresh -------------------------------------
key_src="mmdebstrap $(mmdebstrap --version 2>/dev/null | head -1); arch $(dpkg --print-architecture 2>/dev/null || uname -m)
suite $SUITE; variant minbase; hook $HOOKS; include $INCLUDE; dpkgopt ${SLIM_DPKG_OPTS[*]}${APT_SANDBOX_ROOT:+; aptopt $APT_SANDBOX_OPT}"
KEY=$(printf '%s' "$key_src" | sha256sum | cut -c1-16)
TARBALL=$WORK/rootfs-$SUITE-$KEY.tar
build_rootfs() {  # (set -e does not hold inside a step: every command checks its status)
    TMP_TAR=$(mktemp "$WORK/.rootfs.XXXXXX.tar") || return 1
    local -a opts=(--variant=minbase --hook-dir="$HOOKS" --format=tar)
    [ -z "$INCLUDE" ] || opts+=(--include="$INCLUDE")
    [ -z "$APT_SANDBOX_ROOT" ] || opts+=(--aptopt="$APT_SANDBOX_OPT")
    for o in "${SLIM_DPKG_OPTS[@]}"; do opts+=(--dpkgopt="$o"); done
    echo "mmdebstrap ${opts[*]} $SUITE $TMP_TAR"
    mmdebstrap "${opts[@]}" "$SUITE" "$TMP_TAR" || return 1
    mv -f "$TMP_TAR" "$TARBALL" || return 1
    TMP_TAR=""
    # One tarball per recipe: those of other recipes unused for two weeks go.
    find "$WORK" -maxdepth 1 -name 'rootfs-*.tar' -mtime +14 -print -delete | sed 's/$/.recipe/' | xargs -r rm -f
    printf '%s\n' "$key_src" >"$TARBALL.recipe"
}
exec 9>"$WORK/.rootfs.lock"
flock 9
if [ -f "$TARBALL" ]; then
    touch "$TARBALL"  # in use: kept by the clean-up of old recipes' tarballs
    record "root file system (cached tarball)" PASS 0.0
    say "root file system: cached ${TARBALL#"$REPO"/}"
else
    say "root file system: new ${TARBALL#"$REPO"/}"
    STEP_FG=1 step "root file system (mmdebstrap $SUITE)" build_rootfs || exit 1
fi
flock -u 9

ROOT=$(mktemp -d "$WORK/root.XXXXXX")
chmod 755 "$ROOT"
prepare_root() {  # (set -e does not hold inside a step: every command checks its status)
    tar -C "$ROOT" -xf "$TARBALL" || return 1
    # Python: exactly what the base image has (the stand-in's packages only); no `python` alias.
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" || return 1
    if [ -n "$APT_SANDBOX_ROOT" ]; then  # the root's /dev is the host's: its apt-get needs it too
        printf '%s;\n' "$APT_SANDBOX_OPT" >"$ROOT/etc/apt/apt.conf.d/00container-check-sandbox" || return 1
        echo "apt: $APT_SANDBOX_OPT (the host's /dev/null is not writable by _apt)"
    fi
    bind /proc "$ROOT/proc" || return 1
    bind /dev "$ROOT/dev" || return 1
    if mountpoint -q /dev/pts; then bind /dev/pts "$ROOT/dev/pts" || return 1; fi
    mkdir -p "$ROOT/dev/shm" && MOUNTS+=("$ROOT/dev/shm") || return 1
    mount -t tmpfs -o size=64m,nosuid,nodev shm "$ROOT/dev/shm" || return 1
    bind /sys "$ROOT/sys" ro || return 1
    [ "$HANDOVER" = yes ] || return 0
    local f p
    for f in "${PIP_FILES[@]}"; do
        mkdir -p "$ROOT$(dirname "${f#*:}")" && cp -L "${f%%:*}" "$ROOT${f#*:}" || return 1
        echo "pip handover: config ${f%%:*} -> ${f#*:}"
    done
    while IFS= read -r p; do
        if [ -d "$p" ]; then
            if [ -e "$ROOT$p" ] && [ -n "$(ls -A "$ROOT$p" 2>/dev/null)" ]; then
                echo "pip handover: $p exists in the root; not mounted over it"; return 1
            fi
            mkdir -p "$ROOT$p" && bind "$p" "$ROOT$p" ro || return 1
            echo "pip handover: directory $p (read-only bind mount)"
        elif [ -f "$p" ]; then
            mkdir -p "$ROOT$(dirname "$p")" && cp -L "$p" "$ROOT$p" || return 1
            echo "pip handover: file $p (copied)"
        else
            echo "pip handover: $p does not exist on the host; skipped"
        fi
    done < <(handover_paths)
    if [ -n "$PIP_CA" ]; then
        [ -f "$PIP_CA" ] || { echo "pip handover: the CA bundle $PIP_CA does not exist"; return 1; }
        mkdir -p "$ROOT${CA_IN_ROOT%/*}" && cp -L "$PIP_CA" "$ROOT$CA_IN_ROOT" || return 1
        echo "pip handover: CA bundle $PIP_CA -> $CA_IN_ROOT (PIP_CERT)"
    fi
    for f in "${PIP_VARS[@]}"; do echo "pip handover: environment ${f%%=*}"; done
}
STEP_FG=1 step "extract a fresh root and mount$([ "$HANDOVER" = yes ] && echo ', pip handover')" prepare_root || exit 1
if [ "$HANDOVER" = yes ]; then
    grep -h '^pip handover: ' "$LOGS"/*extract*.log | while IFS= read -r l; do say "$l"; done
fi

# --- the Dockerfile, instruction by instruction --------------------------------------------------
declare -A IMG_ENV=() ARGS=()
for kv in "${BASE_ENV[@]}"; do IMG_ENV[${kv%%=*}]=${kv#*=}; done
IMG_ENV[HOME]=/root
WORKDIR=/
CMD_TEXT=""

# run_in_root BUILD(1/0) COMMAND: /bin/sh -c COMMAND in WORKDIR with the image's environment
# (during the build also the ARGs), the host's PIP_* first when handing over.
run_in_root() {
    local -a envv=()
    local k
    if [ "$HANDOVER" = yes ]; then
        envv+=(${PIP_VARS[@]+"${PIP_VARS[@]}"})
        [ -z "$PIP_CA" ] || envv+=("PIP_CERT=$CA_IN_ROOT")
    fi
    if [ "$1" = 1 ]; then for k in "${!ARGS[@]}"; do envv+=("$k=${ARGS[$k]}"); done; fi
    for k in "${!IMG_ENV[@]}"; do envv+=("$k=${IMG_ENV[$k]}"); done
    chroot "$ROOT" /usr/bin/env -i "${envv[@]}" /bin/sh -c "cd $(printf '%q' "$WORKDIR") && $2" </dev/null
}

copy_in() {  # COPY SRC... DEST, by Docker's rules for files, directories and globs
    local -a w; mapfile -t w < <(words "$1")
    [ ${#w[@]} -ge 2 ] || { echo "COPY needs a source and a destination"; return 1; }
    local dest=${w[-1]} src m many=0
    unset 'w[-1]'
    case $dest in /*) ;; *) dest=${WORKDIR%/}/$dest ;; esac
    if [ ${#w[@]} -gt 1 ] || [ "${dest: -1}" = / ]; then many=1; fi
    for src in "${w[@]}"; do
        local -a matches=()
        mapfile -t matches < <(shopt -s nullglob dotglob; for m in "$CTX"/$src; do echo "$m"; done)
        [ ${#matches[@]} -gt 0 ] || { echo "COPY: $src is not in the context"; return 1; }
        for m in "${matches[@]}"; do
            if [ -d "$m" ]; then
                mkdir -p "$ROOT$dest" && cp -a "$m/." "$ROOT$dest/" || return 1
            elif [ $many = 1 ]; then
                mkdir -p "$ROOT$dest" && cp -a "$m" "$ROOT$dest/" || return 1
            else
                mkdir -p "$ROOT$(dirname "$dest")" && cp -a "$m" "$ROOT$dest" || return 1
            fi
        done
    done
}

if [ "$HANDOVER" = yes ]; then
    for i in "${INSTRS[@]}"; do
        case $i in "ARG"$'\t'"SETUP_PIP_ARGS"*)
            ARGS_OVERRIDE_SETUP_PIP_ARGS=1
            say "pip handover: build-arg SETUP_PIP_ARGS='' (as docker build --build-arg SETUP_PIP_ARGS=): torch comes from the handed-over configuration" ;;
        esac
    done
fi

for i in "${INSTRS[@]}"; do
    instr=${i%%$'\t'*} rest=${i#*$'\t'}
    if [ -n "$BUILD_BROKEN" ]; then
        case $instr in RUN | COPY) record "$instr $rest" SKIP - ;; esac
        continue
    fi
    case $instr in
        FROM) ;;
        LABEL) ;;
        CMD) CMD_TEXT=$rest ;;
        WORKDIR) case $rest in /*) WORKDIR=$rest ;; *) WORKDIR=${WORKDIR%/}/$rest ;; esac
                 mkdir -p "$ROOT$WORKDIR" ;;
        ENV | ARG)
            mapfile -t kvs < <(words "$rest")
            if [ "$instr" = ENV ] && [ ${#kvs[@]} -ge 2 ] && [[ ${kvs[0]} != *=* ]]; then
                kvs=("${kvs[0]}=${rest#*[[:space:]]}")   # legacy form: ENV NAME value with spaces
            fi
            for kv in "${kvs[@]}"; do
                name=${kv%%=*} value=""
                [[ $kv == *=* ]] && value=${kv#*=}
                if [ "$instr" = ENV ]; then
                    IMG_ENV[$name]=$value
                elif [ "$name" = SETUP_PIP_ARGS ] && [ -n "${ARGS_OVERRIDE_SETUP_PIP_ARGS:-}" ]; then
                    ARGS[$name]=""
                else
                    ARGS[$name]=$value
                fi
            done ;;
        COPY)
            if ! step "COPY $rest" copy_in "$rest"; then BUILD_BROKEN=1; fi ;;
        RUN)
            if ! step "RUN $rest" run_in_root 1 "$rest"; then BUILD_BROKEN=1; fi ;;
    esac
done

# --- the image, used as `docker run` would -------------------------------------------------------
if [ -n "$BUILD_BROKEN" ]; then
    say "the image did not build: the checks are skipped"
else
    say "image built; CMD ${CMD_TEXT:-none} not run: the checks below stand for it"
fi
for k in "${!CHECK_NAMES[@]}"; do
    if [ -n "$BUILD_BROKEN" ]; then record "${CHECK_NAMES[k]}" SKIP -; continue; fi
    step "${CHECK_NAMES[k]}" run_in_root 0 "${CHECK_CMDS[k]}" || true
done
[ $FAILED -eq 0 ] && [ -z "$BUILD_BROKEN" ]
