import type { QualityChoice, StreamLayer } from '@onair/protocol';
import { Check, Settings } from 'lucide-react';
import { useEffect, useId, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { usePopover } from '../../components/use-popover';
import { pixelsOf, qualityOptions } from './quality';

/** The height the video shows now (0 before its first frame), followed as the layer changes. */
function usePlayingHeight(video: RefObject<HTMLVideoElement | null>): number {
  const [height, setHeight] = useState(0);
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    const read = () =>
      setHeight(pixelsOf({ width: element.videoWidth, height: element.videoHeight }));
    read();
    // `resize` fires when the decoded frames change size: a switch of layer.
    element.addEventListener('loadedmetadata', read);
    element.addEventListener('resize', read);
    return () => {
      element.removeEventListener('loadedmetadata', read);
      element.removeEventListener('resize', read);
    };
  }, [video]);
  return height;
}

/**
 * The player's quality menu (a menu button: arrows move, Escape closes and gives focus back):
 * Auto, or a ceiling at one of the broadcaster's layers, each named by its real height.
 */
export function QualityMenu({
  video,
  layers,
  quality,
  onChoose,
  buttonClassName,
}: {
  video: RefObject<HTMLVideoElement | null>;
  /** The broadcaster's layers, lowest first, as the server last reported them. */
  layers: readonly StreamLayer[];
  quality: QualityChoice;
  onChoose: (quality: QualityChoice) => void;
  buttonClassName: string;
}) {
  const { open, setOpen, root } = usePopover();
  const menuId = useId();
  const noteId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const items = useRef<(HTMLButtonElement | null)[]>([]);
  const playing = usePlayingHeight(video);
  const options = qualityOptions(layers, playing, quality);
  // A ceiling this broadcast lacks (it sends one layer) plays as Auto does.
  const current = options.find((o) => o.choice === quality) ?? options[0];
  const single = layers.length === 1;
  items.current.length = options.length;

  // Opening puts focus on the checked entry, as a menu of choices does.
  useEffect(() => {
    if (!open) return;
    const checked = options.findIndex((o) => o.choice === current?.choice);
    items.current[Math.max(0, checked)]?.focus();
    // Only on opening: a new layer report must not pull focus around.
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  const onMenuKey = (event: KeyboardEvent) => {
    const all = items.current.filter((item): item is HTMLButtonElement => item !== null);
    const at = all.indexOf(document.activeElement as HTMLButtonElement);
    const move = (index: number) => all[(index + all.length) % all.length]?.focus();
    if (event.key === 'ArrowDown') move(at + 1);
    else if (event.key === 'ArrowUp') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(all.length - 1);
    else if (event.key === 'Escape') close();
    else if (event.key === 'Tab') setOpen(false);
    else return;
    if (event.key !== 'Tab') event.preventDefault();
  };

  return (
    <div ref={root} className="relative">
      <button
        ref={button}
        type="button"
        className={buttonClassName}
        aria-label={`Quality: ${current?.label ?? 'Auto'}`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        title={single ? 'This broadcast has one quality' : 'Quality'}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => {
          // The menu button pattern: the arrows open the menu too.
          if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
          event.preventDefault();
          setOpen(true);
        }}
      >
        <Settings className="h-5 w-5" aria-hidden />
      </button>
      {open && (
        <div className="absolute bottom-full right-0 mb-2 w-48 max-w-[calc(100vw-1.5rem)] rounded-xl border border-zinc-800 bg-zinc-900/95 p-1 text-sm shadow-xl backdrop-blur">
          <div
            id={menuId}
            role="menu"
            aria-label="Quality"
            aria-describedby={single ? noteId : undefined}
            onKeyDown={onMenuKey}
          >
            {options.map((option, index) => {
              const checked = option.choice === current?.choice;
              return (
                <button
                  key={option.choice}
                  ref={(element) => {
                    items.current[index] = element;
                  }}
                  type="button"
                  role="menuitemradio"
                  aria-checked={checked}
                  tabIndex={-1}
                  className="flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left hover:bg-zinc-800 focus:bg-zinc-800 focus:outline-none"
                  onClick={() => {
                    if (!checked) onChoose(option.choice);
                    close();
                  }}
                >
                  <Check className={`h-4 w-4 shrink-0 ${checked ? '' : 'invisible'}`} aria-hidden />
                  <span className="tabular-nums">{option.label}</span>
                </button>
              );
            })}
          </div>
          {single && (
            <p id={noteId} className="px-3 py-2 text-xs text-zinc-400">
              This broadcast has one quality
            </p>
          )}
        </div>
      )}
    </div>
  );
}
