//! Feeds: RSS 2.0, Atom and JSON Feed files as Pelican (feedgenerator 2.0) writes them.
