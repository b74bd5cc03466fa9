# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for wqmon(1)

_wqmon() {
	local cur prev words cword
	_init_completion || return

	case $prev in
	-b | --block)
		COMPREPLY=($(compgen -W "$(compgen -G '/dev/sd*'; compgen -G '/dev/nvme*n*'; compgen -G '/dev/vd*'; compgen -G '/dev/mmcblk*'; compgen -G '/dev/loop*')" -- "$cur"))
		return ;;
	--fs)
		_filedir
		return ;;
	--mounts)
		_filedir -d
		return ;;
	-t | --type)
		COMPREPLY=($(compgen -W 'key block usb fs mount' -- "$cur"))
		return ;;
	-s | --subtype)
		COMPREPLY=($(compgen -W 'key:inst,upd,link,unlk,clr,rev,inv,attr
			block:timeout,no-space,transport,target,nexus,medium,protection,kernel-resource,device-resource,io
			usb:add,remove,bus-add,bus-remove,reset,error
			fs:readonly,error,quota,wb-error,no-space
			mount:new,unmount,readonly,attr,move-from,move-to' -- "$cur"))
		return ;;
	-f | --filter | -n | --count | --timeout | --ring-bytes)
		return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--devices --block --fs --mounts --type --filter
			--subtype --json --count --timeout --realtime --no-udev --quiet
			--ring-bytes --version --help' -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W '@s @u @us @p @t @g @a' -- "$cur"))
}
complete -F _wqmon wqmon
