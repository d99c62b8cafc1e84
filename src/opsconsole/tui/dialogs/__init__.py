"""The console's modal dialogs: help and a row in full (the action dialog is
``opsconsole.tui.action_dialog``)."""
