// Shell completion scripts (bash, zsh): commands and subcommands from the registry, container
// and image names from the daemon at completion time.

import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { COMMANDS } from '../registry.js';

function bash(): string {
  const top = Object.keys(COMMANDS).filter((n) => !COMMANDS[n]!.hidden).join(' ');
  const subs = Object.entries(COMMANDS)
    .filter(([, e]) => e.sub)
    .map(([n, e]) => `    ${n}) subs="${Object.keys(e.sub!).join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for berth. Load with: source <(berth completion bash)
_berth() {
  local cur prev words cword
  cur="\${COMP_WORDS[COMP_CWORD]}"
  local cmd="" sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -H|--host|--config|-c|--context|-l|--log-level) ((i++)) ;;
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="\${COMP_WORDS[i]}"; elif [[ -z "$sub" ]]; then sub="\${COMP_WORDS[i]}"; fi ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${top}" -- "$cur"))
    return
  fi
  local subs=""
  case "$cmd" in
${subs}
  esac
  if [[ -n "$subs" && -z "$sub" ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(berth $cmd $sub --help 2>/dev/null | grep -oE -- '--[a-z0-9-]+' | sort -u)" -- "$cur"))
    return
  fi
  local what="\${sub:-$cmd}"
  case "$what" in
    run|create|pull|push|rmi|history|tag|save|images|build) COMPREPLY=($(compgen -W "$(berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>')" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(berth ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur")) ;;
  esac
}
complete -F _berth berth
complete -F _berth docker 2>/dev/null || true
`;
}

function zsh(): string {
  const top = Object.entries(COMMANDS)
    .filter(([, e]) => !e.hidden)
    .map(([n, e]) => `    '${n}:${e.short.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`)
    .join('\n');
  const subs = Object.entries(COMMANDS)
    .filter(([, e]) => e.sub)
    .map(([n, e]) => `      ${n}) subs=(${Object.keys(e.sub!).join(' ')}) ;;`)
    .join('\n');
  return `#compdef berth
# zsh completion for berth. Load with: source <(berth completion zsh)
_berth() {
  local -a commands subs
  commands=(
${top}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
${subs}
  esac
  if (( CURRENT == 3 )) && (( \${#subs} )); then
    compadd -- $subs
    return
  fi
  if [[ $words[CURRENT] == -* ]]; then
    compadd -- \${(f)"$(berth \${words[2,CURRENT-1]} --help 2>/dev/null | grep -oE -- '--[a-z0-9-]+' | sort -u)"}
    return
  fi
  case $words[2] in
    run|create|pull|push|rmi|history|tag|save|images|image) compadd -- \${(f)"$(berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>')"} ;;
    *) compadd -- \${(f)"$(berth ps -a --format '{{.Names}}' 2>/dev/null)"} ;;
  esac
}
if [[ "$funcstack[1]" = "_berth" ]]; then _berth "$@"; else compdef _berth berth; fi
`;
}

export const completion: Command = {
  use: 'completion [bash|zsh]',
  short: 'Generate the autocompletion script for the specified shell',
  args: { exact: 1 },
  async run(cli, { args }) {
    if (args[0] === 'bash') cli.out(bash());
    else if (args[0] === 'zsh') cli.out(zsh());
    else throw new StatusError(1, `unsupported shell: ${args[0]} (use bash or zsh)`);
  },
};
