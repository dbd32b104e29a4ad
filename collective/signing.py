from collective._moved import moved

moved(__name__, "collective.ledger.signing")
