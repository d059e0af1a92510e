// Package samplesite is the page that can safely be scraped.
package samplesite
