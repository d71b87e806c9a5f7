# exported as a script instead of handing in the notebook
