# bash completion for ttctl. ttctl completes itself: its [suggest:POSITION] directive lists the verbs and options
# that fit the command line so far, so new verbs complete without touching this file. Paths complete as files.
_ttctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} line=${COMP_LINE:0:COMP_POINT}
  local -a words
  mapfile -t words < <("${COMP_WORDS[0]}" "[suggest:${#line}]" "$line" 2>/dev/null)
  COMPREPLY=()
  local w
  for w in "${words[@]}"; do
    # DOS-style and short help spellings only clutter the list.
    case $w in /*|-\?) continue ;; esac
    [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
  done
}
complete -o default -o bashdefault -F _ttctl ttctl
