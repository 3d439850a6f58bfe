# Source this file from fish: `source #PREFIX#/bin/activate.fish`. Written by pyship.
function deactivate --description 'Leave the virtualenv'
    if set -q _PYSHIP_OLD_PATH
        set -gx PATH $_PYSHIP_OLD_PATH
        set -e _PYSHIP_OLD_PATH
    end
    if functions -q _pyship_old_fish_prompt
        functions -e fish_prompt
        functions -c _pyship_old_fish_prompt fish_prompt
        functions -e _pyship_old_fish_prompt
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

deactivate nondestructive

set -gx VIRTUAL_ENV '#PREFIX#'
set -gx VIRTUAL_ENV_PROMPT '(#NAME#) '
set -gx _PYSHIP_OLD_PATH $PATH
set -gx PATH "$VIRTUAL_ENV/bin" $PATH

if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
    if functions -q fish_prompt
        functions -c fish_prompt _pyship_old_fish_prompt
    else
        function _pyship_old_fish_prompt
        end
    end
    function fish_prompt
        set -l last_status $status
        printf '%s' "$VIRTUAL_ENV_PROMPT"
        echo -n exit $last_status | source
        _pyship_old_fish_prompt
    end
end
