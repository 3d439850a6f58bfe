# Source this file from csh or tcsh: `source #PREFIX#/bin/activate.csh`. Written by pyship.
alias deactivate 'test $?_PYSHIP_OLD_PATH != 0 && setenv PATH "$_PYSHIP_OLD_PATH:q" && unset _PYSHIP_OLD_PATH; test $?_PYSHIP_OLD_PROMPT != 0 && set prompt="$_PYSHIP_OLD_PROMPT:q" && unset _PYSHIP_OLD_PROMPT; unsetenv VIRTUAL_ENV; unsetenv VIRTUAL_ENV_PROMPT; rehash; test "\!:*" != "nondestructive" && unalias deactivate'

deactivate nondestructive

setenv VIRTUAL_ENV '#PREFIX#'
setenv VIRTUAL_ENV_PROMPT '(#NAME#) '
set _PYSHIP_OLD_PATH="$PATH:q"
setenv PATH "$VIRTUAL_ENV:q/bin:$PATH:q"

if (! $?VIRTUAL_ENV_DISABLE_PROMPT) then
    if ($?prompt) then
        set _PYSHIP_OLD_PROMPT="$prompt:q"
        set prompt = "$VIRTUAL_ENV_PROMPT:q$prompt:q"
    endif
endif

rehash
