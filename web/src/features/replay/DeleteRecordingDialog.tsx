import { ConfirmDialog } from '../../components/ConfirmDialog';

/** The question before a recording goes for good. */
export function DeleteRecordingDialog({
  onConfirm,
  onCancel,
}: {
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      title="Delete this recording?"
      cancelLabel="Keep it"
      confirmLabel="Delete recording"
      onCancel={onCancel}
      onConfirm={onConfirm}
    >
      The replay goes for everyone and the file cannot be downloaded any more. This cannot be
      undone.
    </ConfirmDialog>
  );
}
