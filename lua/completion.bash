# bash completion for vclaunch: options (read from `vclaunch --help`, the
# same text the man page is made from), the subcommands ls, stop and qmp,
# running VM names after stop and qmp (the runtime dirs, named
# NAME-XXXXXX, under --runtime-dir or the default base), option values and
# recipe files. Installed as share/bash-completion/completions/vclaunch.

# The runtime dirs' base, as vclaunch resolves it (core/rundir.c).
_vclaunch_base()
{
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
        --runtime-dir=*) printf '%s\n' "${COMP_WORDS[i]#--runtime-dir=}"; return ;;
        --runtime-dir) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
        esac
    done
    if [[ -n ${XDG_RUNTIME_DIR-} ]]; then
        printf '%s\n' "$XDG_RUNTIME_DIR/vclaunch"
    elif ((EUID == 0)); then
        printf '%s\n' /run/vclaunch
    else
        printf '%s\n' "/tmp/vclaunch-$EUID"
    fi
}

# Names of the VMs whose runtime dirs exist (a dir in the making starts
# with a dot and is left out).
_vclaunch_vms()
{
    local base d name
    base=$(_vclaunch_base)
    for d in "$base"/*-??????; do
        [[ -d $d ]] || continue
        name=${d##*/}
        printf '%s\n' "${name%-??????}"
    done | sort -u
}

_vclaunch()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd="" i nargs=0 w
    COMPREPLY=()
    # the first word that is not an option (or an option's value) is the
    # subcommand or the recipe
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -n $cmd ]]; then
            [[ $w != -* ]] && ((nargs++))
            continue
        fi
        case $w in
        --accel | --runtime-dir | --log-level | --log-dir | --events | --stop-timeout) ((i++)) ;;
        -*) ;;
        *) cmd=$w ;;
        esac
    done

    case $prev in
    --accel) COMPREPLY=($(compgen -W "kvm tcg" -- "$cur")); return 0 ;;
    --log-level) COMPREPLY=($(compgen -W "error info debug" -- "$cur")); return 0 ;;
    --runtime-dir | --log-dir) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
    --events) COMPREPLY=($(compgen -f -- "$cur") -); return 0 ;;
    --stop-timeout | --timeout) return 0 ;;
    --kinds)
        COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" --kinds 2>/dev/null | cut -d' ' -f1)" \
            -- "$cur"))
        return 0 ;;
    esac

    case $cmd in
    "")
        if [[ $cur == -* ]]; then
            local opts
            opts=$("${COMP_WORDS[0]}" --help 2>/dev/null |
                sed -n 's/^  \(--[a-z][a-z-]*\(=[a-z]*\)\{0,1\}\).*/\1/p')
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "ls stop qmp" -- "$cur"))
            local IFS=$'\n'
            COMPREPLY+=($(compgen -d -S / -- "$cur") $(compgen -f -X '!*.lua' -- "$cur"))
            [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == */ ]] && compopt -o nospace 2>/dev/null
        fi
        ;;
    ls) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
    stop)
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--kill --timeout" -- "$cur"))
        elif ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_vclaunch_vms)" -- "$cur"))
        fi
        ;;
    qmp)
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--pretty" -- "$cur"))
        elif ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_vclaunch_vms)" -- "$cur"))
        elif ((nargs == 1)); then
            # common QMP commands; any other is taken as typed
            COMPREPLY=($(compgen -W "query-status query-version query-name query-cpus-fast
                query-memory-size-summary query-block query-pci query-chardev stop cont
                system_powerdown system_reset quit human-monitor-command" -- "$cur"))
        fi
        ;;
    *) # the recipe's own arguments: files
        COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
}
complete -F _vclaunch vclaunch
