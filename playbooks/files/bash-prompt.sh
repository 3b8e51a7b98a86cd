# Written by vps-provision (terminal): a prompt that shows the git branch, for
# interactive bash; sourced from ~/.bashrc after Debian's own prompt is set.
if [ -n "${PS1:-}" ] && [ -n "${BASH_VERSION:-}" ] && [ -f /usr/lib/git-core/git-sh-prompt ]; then
  . /usr/lib/git-core/git-sh-prompt
  GIT_PS1_SHOWDIRTYSTATE=1
  GIT_PS1_SHOWUPSTREAM=auto
  PS1='\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0;33m\]$(__git_ps1 " (%s)")\[\e[0m\]\$ '
fi
