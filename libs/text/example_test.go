package text_test

import (
	"fmt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

func ExampleClip() {
	fmt.Println(text.Clip("Schindler's List", 9))
	fmt.Println(text.Clip("Amélie", 3)) // "é" does not fit whole
	fmt.Println(text.Clip("bad \xff byte", 20))
	// Output:
	// Schindler…
	// Am…
	// bad � byte
}
